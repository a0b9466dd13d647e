"""Registers this distribution's query strategies and the driver of the ``active_learning`` section with sscl."""

from sscl_core import hookimpl
from sscl_plugin_active.committee import QueryByCommittee
from sscl_plugin_active.driver import build_active_learner
from sscl_plugin_active.uncertainty import Entropy, LeastConfidence, Margin, RandomQuery


@hookimpl
def register_query_strategies(register):
    """random, least-confidence, margin, entropy, qbc."""
    for cls in (RandomQuery, LeastConfidence, Margin, Entropy, QueryByCommittee):
        register(cls)


@hookimpl
def register_active_learning(register):
    """The step that runs a config's ``active_learning`` section."""
    register(build_active_learner)
