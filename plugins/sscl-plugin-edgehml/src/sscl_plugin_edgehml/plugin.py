"""Registers EdgeHML's memory pool, method and presets with sscl."""

from importlib.resources import files
from pathlib import Path

from sscl_core import hookimpl
from sscl_plugin_edgehml.hml_pool import HierarchicalMemoryPool
from sscl_plugin_edgehml.method import EdgeHML

PRESETS = Path(str(files("sscl_plugin_edgehml") / "presets"))
"""The folder of the presets this plugin ships (one YAML config per benchmark setup)."""


@hookimpl
def register_memory_pools(register):
    """hml: labeled RAM tier, pseudo-labeled disk tier, pseudo-labeled RAM tier."""
    register(HierarchicalMemoryPool)


@hookimpl
def register_methods(register):
    """edgehml."""
    register(EdgeHML)


@hookimpl
def register_presets(register):
    """edgehml-digits-5, edgehml-fmnist-5 and the paper's edgehml-cifar10-5, -cifar100-20, -tinyimagenet-10."""
    for path in sorted(PRESETS.glob("*.yaml")):
        register(path)
