"""Registers this distribution's query strategies with sscl."""

from sscl_core import hookimpl
from sscl_plugin_active.committee import QueryByCommittee
from sscl_plugin_active.uncertainty import Entropy, LeastConfidence, Margin, RandomQuery


@hookimpl
def register_query_strategies(register):
    """random, least-confidence, margin, entropy, qbc."""
    for cls in (RandomQuery, LeastConfidence, Margin, Entropy, QueryByCommittee):
        register(cls)
