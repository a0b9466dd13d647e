"""Registers the ``sscl bench`` and ``sscl report`` commands with sscl."""

from sscl_core import hookimpl
from sscl_plugin_bench.commands import BENCH, REPORT


@hookimpl
def register_commands(register):
    """bench, report."""
    register(BENCH)
    register(REPORT)
