"""Registers this distribution's methods and memory pools with sscl."""

from sscl_core import hookimpl
from sscl_plugin_cl.class_balanced import ClassBalancedPool
from sscl_plugin_cl.der import DarkExperienceReplay, DarkExperienceReplayPlusPlus
from sscl_plugin_cl.er import ExperienceReplay
from sscl_plugin_cl.ewc_online import OnlineEWC
from sscl_plugin_cl.finetune import Finetune
from sscl_plugin_cl.pnn import ProgressiveNeuralNetworks
from sscl_plugin_cl.reservoir import ReservoirPool
from sscl_plugin_cl.si import SynapticIntelligence


@hookimpl
def register_methods(register):
    """finetune, er, der, derpp, si, ewc-online, pnn."""
    for method in (
        Finetune,
        ExperienceReplay,
        DarkExperienceReplay,
        DarkExperienceReplayPlusPlus,
        SynapticIntelligence,
        OnlineEWC,
        ProgressiveNeuralNetworks,
    ):
        register(method)


@hookimpl
def register_memory_pools(register):
    """reservoir, class-balanced."""
    register(ReservoirPool)
    register(ClassBalancedPool)
