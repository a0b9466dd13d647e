"""sscl-plugin-deploy: ``sscl export`` and ``sscl predict``, the way from a run directory to a device."""
