"""The module named by this distribution's `sscl` entry point: it registers the components."""

from sscl_core import hookimpl
from sscl_example.forgetting_alarm import ForgettingAlarm
from sscl_example.lwf import LearningWithoutForgetting


@hookimpl
def register_methods(register):
    """Add lwf."""
    register(LearningWithoutForgetting)


@hookimpl
def register_callbacks(register):
    """Add forgetting-alarm."""
    register(ForgettingAlarm)
