"""EdgeHML for sscl: the hierarchical memory pool ``hml`` and the method ``edgehml``."""
