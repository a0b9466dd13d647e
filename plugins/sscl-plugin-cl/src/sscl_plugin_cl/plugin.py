"""Registers this distribution's methods and memory pools with sscl."""

from sscl_core import hookimpl
from sscl_plugin_cl.er import ExperienceReplay
from sscl_plugin_cl.finetune import Finetune
from sscl_plugin_cl.reservoir import ReservoirPool


@hookimpl
def register_methods(register):
    """finetune, er."""
    register(Finetune)
    register(ExperienceReplay)


@hookimpl
def register_memory_pools(register):
    """reservoir."""
    register(ReservoirPool)
