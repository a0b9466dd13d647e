"""The ``sscl`` command line: the built-in commands run, config, plugins, list and describe, and every command
the installed plugins register (``register_commands``, e.g. ``sscl bench`` of sscl-plugin-bench)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any, NoReturn

import yaml
from packaging.utils import canonicalize_name

from sscl_core.api.command import Command
from sscl_core.api.components import describe_fields
from sscl_core.api.errors import SsclError
from sscl_core.config.run_config import RunConfig, load_config
from sscl_core.plugins.registry import KINDS, Registry, config_path, kind_of, load_registry
from sscl_core.run.cost import STANDARD_INPUT_SHAPES, backbone_costs, format_macs, format_shape, parse_input_shape
from sscl_core.run.interrupt import RunInterrupted
from sscl_core.run.resolve import resolve_components
from sscl_core.run.resume import check_run_dir
from sscl_core.run.rundir import CONFIG_FILE

DEFAULT_COST_CLASSES = 10
"""Head size of the cost ``sscl describe backbone`` shows (CIFAR-10, MNIST and digits have 10 classes)."""
FIRST_PARTY_COMMANDS = {"bench": "sscl-plugin-bench", "report": "sscl-plugin-bench"}
"""Commands of first-party plugin distributions: without the distribution, using one says what to install."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise SsclError(f"{message} (see '{self.prog} --help')")


def _add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "config", nargs="?", help="YAML config file or an installed preset's name (default: the embedded digits demo)"
    )
    parser.add_argument("--method", help="learning method, replacing the config's (METHOD+LOSS adds an unlabeled loss)")
    parser.add_argument("--dataset", help="dataset, replacing the config's")
    parser.add_argument("--backbone", help="backbone, replacing the config's")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="overrides",
        help="override a setting, e.g. --set train.iters_per_task=100 (repeatable)",
    )


def _add_run_arguments(parser: argparse.ArgumentParser) -> None:
    _add_config_arguments(parser)
    parser.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue this run after its last checkpoint, with its own config.yaml (a CONFIG or options given "
        "must resolve to the same config)",
    )


def _add_json_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _add_list_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", help=", ".join([*KINDS, "presets", "commands"]))
    _add_json_argument(parser)


def _add_describe_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", help=", ".join(KINDS))
    parser.add_argument("name")
    parser.add_argument(
        "--input-shape",
        action="append",
        default=[],
        metavar="CxHxW",
        dest="input_shapes",
        help="backbones: measure the cost at this input shape, e.g. 3x32x32 (repeatable; default: "
        + ", ".join(format_shape(s) for s in STANDARD_INPUT_SHAPES)
        + ")",
    )
    parser.add_argument(
        "--classes",
        type=int,
        default=DEFAULT_COST_CLASSES,
        help=f"backbones: classes of the linear head in the cost (default {DEFAULT_COST_CLASSES})",
    )


def build_parser(registry: Registry | None = None) -> argparse.ArgumentParser:
    """The argument parser of the built-in commands and of every command ``registry``'s plugins registered.

    A registered command named like a built-in one is an error naming both distributions; one whose
    ``add_arguments`` raises is left out and its plugin marked broken (``sscl plugins`` shows why).
    """
    parser = _Parser(prog="sscl", description="Semi-supervised continual learning, one plugin at a time.")
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
    where = f"'sscl {name}' comes from the {dist} distribution"
    for info in registry.plugins:
        if canonicalize_name(info.distribution) == dist and info.error:
            return SsclError(f"{where}, which failed to load ({info.error}): see 'sscl plugins'")
    if os.environ.get("SSCL_LOAD_PLUGINS") is not None and _installed(dist):
        return SsclError(f"{where}, which SSCL_LOAD_PLUGINS leaves out: add it there, or unset SSCL_LOAD_PLUGINS")
    return SsclError(f"{where}: pip install {dist}")


def _installed(dist: str) -> bool:
    try:
        distribution(dist)
    except PackageNotFoundError:
        return False
    return True


def _config_from(args: argparse.Namespace, registry: Registry, base: str | None = None) -> RunConfig:
    chosen = {"method": args.method, "dataset": args.dataset, "backbone": args.backbone}
    source = config_path(args.config, registry) if args.config else base
    return load_config(source, args.overrides, chosen)


def format_matrix(matrix: list[list[float | None]]) -> str:
    """An accuracy matrix as aligned text, rows = after task i, columns = task j."""
    header = "after \\ on " + "".join(f"{'T' + str(j + 1):>8}" for j in range(len(matrix[0])))
    rows = [
        f"{'T' + str(i + 1):<11}" + "".join(f"{'' if v is None else f'{v:.2f}':>8}" for v in row)
        for i, row in enumerate(matrix)
    ]
    return "\n".join([header, *rows])


def command_run(args: argparse.Namespace, registry: Registry) -> None:
    """Train and print the accuracy matrices and summary."""
    from sscl_core.run.trainer import Trainer

    if args.resume is not None:
        run_dir = check_run_dir(args.resume)
        config = _config_from(args, registry, base=str(run_dir / CONFIG_FILE))
        trainer = Trainer.resume(run_dir, config, registry, echo=print, progress_bar=True)
    else:
        trainer = Trainer(_config_from(args, registry), registry, echo=print, progress_bar=True)
    result = trainer.run()
    metrics = result.metrics
    evaluation = metrics["evaluation"]
    key, unit = evaluation["key"], evaluation["unit"]
    for metric in evaluation["metrics"]:
        summary = metrics["summary"][metric]
        print(f"\n{metric} {key}{f' ({unit})' if unit else ''}\n{format_matrix(metrics[key][metric])}")
        print(
            f"{metric}: mean average {key} {summary['mean_average_accuracy']:.2f}{unit}, "
            f"final average {key} {summary['final_average_accuracy']:.2f}{unit}, "
            f"forgetting {summary['average_forgetting']:.2f}"
        )
    timing = metrics["timing"]
    print(
        f"\nmedian iteration time {1000 * timing['median_iteration_seconds']:.2f} ms "
        f"(data {100 * timing['data_share']:.0f}%), train time {timing['total_train_seconds']:.1f}s, "
        f"peak RSS {metrics['memory']['peak_rss_bytes'] / 2**20:.0f} MiB"
    )
    print(f"run directory: {result.run_dir}")


def command_config(args: argparse.Namespace, registry: Registry) -> None:
    """Print the resolved config."""
    config = _config_from(args, registry)
    resolved = resolve_components(config, registry).resolved_config(config)
    print(yaml.safe_dump(resolved, sort_keys=False), end="")


def _plugin_rows(registry: Registry) -> list[dict[str, Any]]:
    return [
        {
            "distribution": p.distribution,
            "version": p.version,
            "entry_point": p.entry_point,
            "module": p.module,
            "components": p.components,
            "hooks": p.hooks,
            "error": p.error,
        }
        for p in registry.plugins
    ]


def command_plugins(args: argparse.Namespace, registry: Registry) -> None:
    """List plugin distributions."""
    rows = _plugin_rows(registry)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        print("no plugins installed (pip install sscl-plugin-datasets sscl-plugin-backbones sscl-plugin-cl)")
    for row in rows:
        status = f"FAILED: {row['error']}" if row["error"] else ", ".join(row["hooks"])
        print(f"{row['distribution']} {row['version']} ({row['module']}): {status}")
        for kind, names in row["components"].items():
            print(f"  {kind}: {', '.join(names)}")


def _list_presets(registry: Registry, as_json: bool) -> None:
    rows = [
        {"name": name, "distribution": dist, "path": str(path), "summary": preset_summary(path)}
        for name, (path, dist) in sorted(registry.presets.items())
    ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    for row in rows:
        print(f"{row['name']:<26} {row['distribution']:<22} {row['summary']}")


def _list_commands(registry: Registry, as_json: bool) -> None:
    """The built-in commands, then those the plugins registered, with their distributions."""
    rows = [{"name": c.name, "distribution": "sscl-core", "summary": c.help} for c in BUILTIN_COMMANDS]
    rows += [
        {"name": name, "distribution": dist, "summary": command.help}
        for name, (command, dist) in sorted(registry.commands.items())
    ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    for row in rows:
        print(f"{row['name']:<12} {row['distribution']:<22} {row['summary']}")


def preset_summary(path: Path) -> str:
    """The first comment line of a preset's YAML file (its one-line description)."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def command_list(args: argparse.Namespace, registry: Registry) -> None:
    """List components of one kind, or the installed presets, or the commands."""
    if args.kind.strip().lower() in ("preset", "presets"):
        _list_presets(registry, args.json)
        return
    if args.kind.strip().lower() in ("command", "commands"):
        _list_commands(registry, args.json)
        return
    kind = kind_of(args.kind)
    rows = [
        {
            "name": name,
            "distribution": registry.distribution_of(kind, name),
            "summary": _summary(registry.get(kind, name)),
        }
        for name in registry.names(kind)
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for row in rows:
        print(f"{row['name']:<22} {row['distribution']:<26} {row['summary']}")
    losses = registry.names("unlabeled_loss")
    if kind == "method" and losses:
        print(f"\nany method + an unlabeled loss: METHOD+LOSS, e.g. er+{losses[0]} (sscl list unlabeled-losses)")


def _summary(cls: type) -> str:
    return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""


def command_describe(args: argparse.Namespace, registry: Registry) -> None:
    """Describe one component (``describe method der+fixmatch``: the method, then its unlabeled loss)."""
    kind = kind_of(args.kind)
    if kind != "backbone" and (args.input_shapes or args.classes != DEFAULT_COST_CLASSES):
        raise SsclError(f"--input-shape and --classes apply to backbones only, not to a {kind}")
    shapes = [parse_input_shape(text) for text in args.input_shapes] or list(STANDARD_INPUT_SHAPES)
    if args.classes < 1:
        raise SsclError(f"--classes must be at least 1, got {args.classes}")
    parts = [(kind, args.name)]
    if kind == "method" and "+" in args.name:
        base, _, loss = args.name.partition("+")
        parts = [("method", base), ("unlabeled_loss", loss)]
    classes = [registry.get(part_kind, name) for part_kind, name in parts]
    for i, ((part_kind, name), cls) in enumerate(zip(parts, classes, strict=True)):
        if i:
            print()
        _describe_component(registry, part_kind, name, cls)
    if kind == "backbone":
        _print_backbone_cost(classes[0], shapes, args.classes)


def _describe_component(registry: Registry, kind: str, name: str, cls: type) -> None:
    print(f"{kind} '{name}' from {registry.distribution_of(kind, name)}")
    print((cls.__doc__ or "").strip())
    if kind == "method":
        print(f"compatibility: {', '.join(cls.compatibility)}")
        print(f"uses unlabeled data: {'yes' if cls.uses_unlabeled else 'no'}")
        print(f"uses a memory pool: {'yes' if cls.uses_memory_pool else 'no'}")
    if kind == "unlabeled_loss":
        print(f"unlabeled views: {', '.join(cls.views)}")
    fields = describe_fields(cls)
    print("\nhyperparameters:" if fields else "\nno hyperparameters")
    for field in fields:
        print(f"  {field['name']} ({field['type']}, default {field['default']!r}): {field['help']}")


def _print_backbone_cost(cls: type, shapes: list[tuple[int, int, int]], classes: int) -> None:
    """Parameters and MACs of the backbone at its defaults, with a linear head, at each input shape."""
    print(
        f"\ncost at default settings, with a linear head over {classes} classes, for one image "
        "(torch FlopCounterMode; MACs = FLOPs / 2):"
    )
    for row in backbone_costs(cls(), shapes, classes):
        shape = format_shape(row["input_shape"])
        if "refused" in row:
            print(f"  {shape:<9} not supported: {row['refused']}")
        else:
            print(
                f"  {shape:<9} {row['parameters']:>12,} parameters  {format_macs(row['macs']):>10} MACs  "
                f"{row['out_features']} features"
            )


BUILTIN_COMMANDS = (
    Command("run", "train a method on a task stream and write a run directory", _add_run_arguments, command_run),
    Command("config", "print the resolved config (defaults included) as YAML", _add_config_arguments, command_config),
    Command(
        "plugins", "installed plugin distributions, their components and hooks", _add_json_argument, command_plugins
    ),
    Command("list", "registered components of one kind", _add_list_arguments, command_list),
    Command(
        "describe", "a component's hyperparameters, defaults and properties", _add_describe_arguments, command_describe
    ),
)
"""The commands of sscl-core; plugins add others through ``register_commands``."""
BUILTIN_NAMES = frozenset(command.name for command in BUILTIN_COMMANDS)


def one_line(text: str) -> str:
    """``text`` on a single line (line breaks of embedded user input or library messages become spaces)."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sscl`` script; user errors print one line and return exit code 2 (1 for a component
    that failed after the run's last checkpoint).

    A run stopped by SIGINT or SIGTERM prints one line saying how to resume and returns 128 + the signal
    number (130, 143).
    """
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


if __name__ == "__main__":
    sys.exit(main())
