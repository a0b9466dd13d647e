"""The commands that show what is installed: ``sscl plugins``, ``sscl list`` and ``sscl describe``."""

import argparse
import json
from pathlib import Path
from typing import Any

import attrs

from sscl_core.api.command import Command
from sscl_core.api.components import describe_fields
from sscl_core.api.errors import SsclError
from sscl_core.plugins.registry import KINDS, Registry, kind_of
from sscl_core.run.cost import STANDARD_INPUT_SHAPES, backbone_costs, format_macs, format_shape, parse_input_shape

DEFAULT_COST_CLASSES = 10
"""Head size of the cost ``sscl describe backbone`` shows (CIFAR-10, MNIST and digits have 10 classes)."""


def _add_json_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _add_list_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", help=", ".join([*KINDS, "presets", "commands"]))
    _add_json_argument(parser)


def _add_describe_arguments(parser: argparse.ArgumentParser) -> None:
    shapes = ", ".join(format_shape(s) for s in STANDARD_INPUT_SHAPES)
    shape_help = f"backbones: measure the cost at this input shape, e.g. 3x32x32 (repeatable; default: {shapes})"
    classes_help = f"backbones: classes of the linear head in the cost (default {DEFAULT_COST_CLASSES})"
    parser.add_argument("kind", help=", ".join(KINDS))
    parser.add_argument("name")
    parser.add_argument(
        "--input-shape", action="append", default=[], metavar="CxHxW", dest="input_shapes", help=shape_help
    )
    parser.add_argument("--classes", type=int, default=DEFAULT_COST_CLASSES, help=classes_help)


def _print_rows(rows: list[dict[str, Any]], as_json: bool, line: str) -> None:
    """``rows`` as JSON, or one ``line.format(**row)`` each."""
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    for row in rows:
        print(line.format(**row))


def command_plugins(args: argparse.Namespace, registry: Registry) -> None:
    """List plugin distributions."""
    rows = [attrs.asdict(p) for p in registry.plugins]
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
    _print_rows(rows, as_json, "{name:<26} {distribution:<22} {summary}")


def _list_commands(registry: Registry, builtins: tuple[Command, ...], as_json: bool) -> None:
    """The built-in commands, then those the plugins registered, with their distributions."""
    rows = [{"name": c.name, "distribution": "sscl-core", "summary": c.help} for c in builtins]
    rows += [
        {"name": name, "distribution": dist, "summary": command.help}
        for name, (command, dist) in sorted(registry.commands.items())
    ]
    _print_rows(rows, as_json, "{name:<12} {distribution:<22} {summary}")


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
        _list_commands(registry, args.builtin_commands, args.json)
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
    _print_rows(rows, args.json, "{name:<22} {distribution:<26} {summary}")
    if args.json:
        return
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
        note = classes[0].weights_note()
        if note:
            print(f"\npretrained weights: {note}")
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


PLUGINS = Command(
    "plugins", "installed plugin distributions, their components and hooks", _add_json_argument, command_plugins
)
LIST = Command("list", "registered components of one kind", _add_list_arguments, command_list)
DESCRIBE = Command(
    "describe", "a component's hyperparameters, defaults and properties", _add_describe_arguments, command_describe
)
