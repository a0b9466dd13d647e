"""Loggers for sscl runs: the ``csv`` and ``tensorboard`` callbacks."""
