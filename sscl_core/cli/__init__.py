"""The ``sscl`` command line: the built-in commands run, config, plugins, list and describe, and every command
the installed plugins register (``register_commands``, e.g. ``sscl bench`` of sscl-plugin-bench)."""

import argparse
import sys
from typing import NoReturn

from sscl_core.api.errors import SsclError
from sscl_core.cli.inspection import DESCRIBE, LIST, PLUGINS
from sscl_core.cli.training import CONFIG, RUN
from sscl_core.plugins.registry import Registry, load_registry
from sscl_core.run.interrupt import RunInterrupted

FIRST_PARTY_COMMANDS = {
    "bench": "sscl-plugin-bench",
    "report": "sscl-plugin-bench",
    "export": "sscl-plugin-deploy",
    "predict": "sscl-plugin-deploy",
}
"""Commands of first-party plugin distributions: without the distribution, using one says what to install."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise SsclError(f"{message} (see '{self.prog} --help')")


def build_parser(registry: Registry | None = None) -> argparse.ArgumentParser:
    """The parser of the built-in commands and of the registry's plugin commands: one named like a built-in is an
    error naming both distributions; one whose ``add_arguments`` raises is left out, its plugin marked broken."""
    parser = _Parser(prog="sscl", description="Semi-supervised continual learning, one plugin at a time.")
    parser.set_defaults(builtin_commands=BUILTIN_COMMANDS)
    subparsers = parser.add_subparsers(dest="command", parser_class=_Parser)
    for command in BUILTIN_COMMANDS:
        command.add_arguments(subparsers.add_parser(command.name, help=command.help, description=command.help))
    for name, (command, dist) in sorted((registry.commands if registry else {}).items()):
        if name in BUILTIN_NAMES:
            raise SsclError(
                f"command '{name}' is registered by both sscl-core (built in) and {dist}: uninstall {dist}, or "
                "leave it out with SSCL_LOAD_PLUGINS"
            )
        arguments = argparse.ArgumentParser(add_help=False)
        try:
            command.add_arguments(arguments)
        except Exception as error:  # a broken plugin must not break the other commands
            registry.drop_command(name, f"command '{name}' raised {type(error).__name__} adding its arguments: {error}")
            continue
        subparsers.add_parser(name, help=command.help, description=command.help, parents=[arguments])
    return parser


def missing_command(name: str, registry: Registry) -> SsclError | None:
    """The error for ``sscl NAME`` when NAME is a first-party plugin's command that is not loaded (saying which
    distribution to install, or why it did not load); None for any other name."""
    dist = FIRST_PARTY_COMMANDS.get(name)
    if dist is None or name in registry.commands:
        return None
    return registry.missing(f"'sscl {name}'", dist)


BUILTIN_COMMANDS = (RUN, CONFIG, PLUGINS, LIST, DESCRIBE)
"""The commands of sscl-core; plugins add others through ``register_commands``."""
BUILTIN_NAMES = frozenset(command.name for command in BUILTIN_COMMANDS)


def one_line(text: str) -> str:
    """``text`` on a single line (line breaks of embedded user input or library messages become spaces)."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sscl`` script: a user error is one line and exit code 2 (1: a component failed after
    the last checkpoint); SIGINT or SIGTERM stop a run with one line on how to resume and code 128 + the signal."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        registry = load_registry()
        parser = build_parser(registry)
        missing = missing_command(argv[0], registry) if argv else None
        if missing is not None:
            raise missing
        args = parser.parse_args(argv or ["run"])
        builtin = {command.name: command for command in BUILTIN_COMMANDS}.get(args.command)
        code = (builtin or registry.commands[args.command][0]).run(args, registry)
    except SsclError as error:
        print(f"sscl: error: {one_line(error)}", file=sys.stderr)
        return error.exit_code
    except RunInterrupted as stop:
        print(f"sscl: {stop}", file=sys.stderr)
        return stop.exit_code
    except KeyboardInterrupt:
        print("sscl: interrupted", file=sys.stderr)
        return 130
    return code or 0
