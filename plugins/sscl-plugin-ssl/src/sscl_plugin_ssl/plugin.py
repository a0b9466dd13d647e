"""Registers this distribution's unlabeled losses with sscl."""

from sscl_core import hookimpl
from sscl_plugin_ssl.fixmatch import FixMatch
from sscl_plugin_ssl.flexmatch import FlexMatch
from sscl_plugin_ssl.mixmatch import MixMatch
from sscl_plugin_ssl.uda import UnsupervisedDataAugmentation


@hookimpl
def register_unlabeled_losses(register):
    """fixmatch, flexmatch, uda, mixmatch."""
    for cls in (FixMatch, FlexMatch, UnsupervisedDataAugmentation, MixMatch):
        register(cls)
