"""Classic continual-learning methods and memory pools for sscl."""
