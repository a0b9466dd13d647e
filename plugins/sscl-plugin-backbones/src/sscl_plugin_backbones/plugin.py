"""Registers this distribution's backbones with sscl."""

from __future__ import annotations

from sscl_core import hookimpl
from sscl_core.api.hookspecs import Register
from sscl_plugin_backbones.catalog import BACKBONES


@hookimpl
def register_backbones(register: Register) -> None:
    """Every backbone of ``sscl_plugin_backbones.catalog.BACKBONES``."""
    for backbone in BACKBONES:
        register(backbone)
