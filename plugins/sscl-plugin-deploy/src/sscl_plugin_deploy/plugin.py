"""Registers the ``sscl export`` and ``sscl predict`` commands with sscl."""

from sscl_core import hookimpl
from sscl_plugin_deploy.commands import EXPORT, PREDICT


@hookimpl
def register_commands(register):
    """export, predict."""
    register(EXPORT)
    register(PREDICT)
