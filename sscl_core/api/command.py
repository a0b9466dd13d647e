"""Subcommands a plugin adds to the ``sscl`` command line through the ``register_commands`` hook."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from sscl_core.plugins.registry import Registry

COMMAND_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
"""What a command's name may look like: lower-case letters, digits and '-', starting with a letter."""


def add_overrides_argument(parser: argparse.ArgumentParser, help: str) -> None:
    """Add ``--set KEY=VALUE`` (repeatable; parsed into ``args.overrides``), the config override of ``sscl run``,
    to a command's parser."""
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides", help=help)


def _check_name(_instance: Any, _attribute: Any, value: Any) -> None:
    if not isinstance(value, str) or not COMMAND_NAME.match(value):
        raise ValueError(f"command name {value!r} must be lower-case letters, digits and '-', starting with a letter")


def _check_callable(_instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not callable(value):
        raise TypeError(f"a command's {attribute.name} must be a function, got {value!r}")


@attrs.frozen
class Command:
    """One subcommand of ``sscl``: ``add_arguments(parser)`` adds its arguments, ``run(args, registry)`` runs it and
    returns the exit code (``None``: 0); an :class:`~sscl_core.SsclError` is one line and exit code 2."""

    name: str = attrs.field(validator=_check_name)
    """The subcommand, e.g. ``bench`` for ``sscl bench``."""
    help: str = attrs.field(validator=attrs.validators.instance_of(str))
    """One line for ``sscl --help`` and ``sscl list commands``."""
    add_arguments: Callable[[argparse.ArgumentParser], None] = attrs.field(validator=_check_callable)
    """Adds the command's arguments to its subparser."""
    run: Callable[[argparse.Namespace, Registry], int | None] = attrs.field(validator=_check_callable)
    """Runs the command; its return value is the exit code."""
