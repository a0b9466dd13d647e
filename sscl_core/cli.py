"""The ``sscl`` command line: run, bench, report, plugins, list, describe, config."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import yaml

from sscl_core.api.components import describe_fields
from sscl_core.api.errors import SsclError
from sscl_core.config.run_config import RunConfig, load_config
from sscl_core.plugins.registry import KINDS, Registry, kind_of, load_registry
from sscl_core.run.cost import STANDARD_INPUT_SHAPES, backbone_costs, format_macs, format_shape, parse_input_shape
from sscl_core.run.interrupt import RunInterrupted
from sscl_core.run.resolve import resolve_components
from sscl_core.run.resume import check_run_dir
from sscl_core.run.rundir import CONFIG_FILE

DEFAULT_COST_CLASSES = 10
"""Head size of the cost ``sscl describe backbone`` shows (CIFAR-10, MNIST and digits have 10 classes)."""


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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = _Parser(prog="sscl", description="Semi-supervised continual learning, one plugin at a time.")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    run = commands.add_parser("run", help="train a method on a task stream and write a run directory")
    _add_config_arguments(run)
    run.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue this run after its last checkpoint, with its own config.yaml (a CONFIG or options given "
        "must resolve to the same config)",
    )
    bench = commands.add_parser(
        "bench", help="run a protocol's methods over its seeds, then write the table, raw numbers and plots"
    )
    bench.add_argument("protocol", help="a protocol preset (sscl list presets) or a config file with a bench section")
    bench.add_argument(
        "--methods", nargs="+", metavar="LABEL", help="only these (a name the protocol lacks runs as --method NAME)"
    )
    bench.add_argument("--seeds", nargs="+", type=int, metavar="SEED", help="seeds instead of the protocol's")
    bench.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="overrides",
        help="override a setting of every run",
    )
    bench.add_argument("--out", type=Path, help="output folder (default: bench/PROTOCOL-TIME; an earlier one resumes)")
    bench.add_argument("--jobs", type=int, default=1, help="runs side by side (default 1)")
    report = commands.add_parser(
        "report", help="the benchmark table, raw numbers and plots of existing run directories"
    )
    report.add_argument("paths", nargs="+", type=Path, metavar="RUN_DIR", help="run directories or folders of them")
    report.add_argument("--out", type=Path, default=Path("report"), help="output folder (default: report)")
    report.add_argument(
        "--reference",
        action="append",
        dest="references",
        metavar="LABEL",
        help="label the time ratios are taken to (repeatable; default: finetune and der+fixmatch)",
    )
    config = commands.add_parser("config", help="print the resolved config (defaults included) as YAML")
    _add_config_arguments(config)
    plugins = commands.add_parser("plugins", help="installed plugin distributions, their components and hooks")
    plugins.add_argument("--json", action="store_true", help="machine-readable output")
    listing = commands.add_parser("list", help="registered components of one kind")
    listing.add_argument("kind", help=", ".join([*KINDS, "presets"]))
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    describe = commands.add_parser("describe", help="a component's hyperparameters, defaults and properties")
    describe.add_argument("kind", help=", ".join(KINDS))
    describe.add_argument("name")
    describe.add_argument(
        "--input-shape",
        action="append",
        default=[],
        metavar="CxHxW",
        dest="input_shapes",
        help="backbones: measure the cost at this input shape, e.g. 3x32x32 (repeatable; default: "
        + ", ".join(format_shape(s) for s in STANDARD_INPUT_SHAPES)
        + ")",
    )
    describe.add_argument(
        "--classes",
        type=int,
        default=DEFAULT_COST_CLASSES,
        help=f"backbones: classes of the linear head in the cost (default {DEFAULT_COST_CLASSES})",
    )
    return parser


def config_path(text: str, registry: Registry | None = None) -> Path:
    """A config argument as a file: an existing path, or else the file of the installed preset of that name
    (looked up in ``registry``, loaded when not given)."""
    path = Path(text)
    if path.exists() or path.suffix in (".yaml", ".yml") or len(path.parts) > 1:
        return path
    return (registry or load_registry()).preset(text)


def _config_from(args: argparse.Namespace, base: str | None = None) -> RunConfig:
    chosen = {"method": args.method, "dataset": args.dataset, "backbone": args.backbone}
    source = config_path(args.config) if args.config else base
    return load_config(source, args.overrides, chosen)


def format_matrix(matrix: list[list[float | None]]) -> str:
    """An accuracy matrix as aligned text, rows = after task i, columns = task j."""
    header = "after \\ on " + "".join(f"{'T' + str(j + 1):>8}" for j in range(len(matrix[0])))
    rows = [
        f"{'T' + str(i + 1):<11}" + "".join(f"{'' if v is None else f'{v:.2f}':>8}" for v in row)
        for i, row in enumerate(matrix)
    ]
    return "\n".join([header, *rows])


def command_run(args: argparse.Namespace) -> None:
    """Train and print the accuracy matrices and summary."""
    from sscl_core.run.trainer import Trainer

    if args.resume is not None:
        run_dir = check_run_dir(args.resume)
        config = _config_from(args, base=str(run_dir / CONFIG_FILE))
        trainer = Trainer.resume(run_dir, config, load_registry(), echo=print, progress_bar=True)
    else:
        trainer = Trainer(_config_from(args), load_registry(), echo=print, progress_bar=True)
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


def command_bench(args: argparse.Namespace) -> int:
    """Run a protocol and write its report; exit code 1 when a run failed."""
    from sscl_core.bench.protocol import read_protocol
    from sscl_core.bench.runner import plan_runs, run_bench

    if args.jobs < 1:
        raise SsclError(f"--jobs must be at least 1, got {args.jobs}")
    if args.seeds is not None and any(seed < 0 for seed in args.seeds):
        raise SsclError(f"--seeds must be integers >= 0, got {args.seeds}")
    registry = load_registry()
    path = config_path(args.protocol, registry)
    protocol = read_protocol(path.stem, path)
    entries = protocol.select(args.methods)
    seeds = tuple(dict.fromkeys(args.seeds)) if args.seeds else protocol.seeds
    out = args.out or Path("bench") / f"{protocol.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    planned, skipped = plan_runs(protocol, entries, seeds, args.overrides, out, registry)
    for line in skipped:
        print(f"skipped {line}")
    if not planned:
        raise SsclError(f"no method of protocol '{protocol.name}' is installed: {'; '.join(skipped)}")
    print(f"bench {protocol.name}: {len(planned)} runs ({len(seeds)} seeds) into {out}, {args.jobs} at a time")
    result = run_bench(protocol, planned, skipped, out, args.jobs)
    _print_report(result.report)
    if result.failed:
        print(f"{len(result.failed)} runs failed: {', '.join(result.failed)}; rerun with --out {out} to retry them")
        return 1
    return 0


def command_report(args: argparse.Namespace) -> None:
    """Write the table, raw numbers and plots of existing run directories."""
    from sscl_core.bench.report import write_report

    references = args.references or ["finetune", "der+fixmatch"]
    _print_report(write_report(args.paths, args.out, references, title="sscl report"))


def _print_report(report: Any) -> None:
    print(report.markdown)
    print(f"wrote {report.markdown_file}, {report.json_file}", end="")
    print(f" and {len(report.plots)} plots in {report.plots[0].parent}" if report.plots else "")
    if report.plots_skipped:
        print(f"no plots: {report.plots_skipped}")


def command_config(args: argparse.Namespace) -> None:
    """Print the resolved config."""
    config = _config_from(args)
    resolved = resolve_components(config, load_registry()).resolved_config(config)
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


def command_plugins(args: argparse.Namespace) -> None:
    """List plugin distributions."""
    rows = _plugin_rows(load_registry())
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


def preset_summary(path: Path) -> str:
    """The first comment line of a preset's YAML file (its one-line description)."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def command_list(args: argparse.Namespace) -> None:
    """List components of one kind, or the installed presets."""
    if args.kind.strip().lower() in ("preset", "presets"):
        _list_presets(load_registry(), args.json)
        return
    registry, kind = load_registry(), kind_of(args.kind)
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


def command_describe(args: argparse.Namespace) -> None:
    """Describe one component (``describe method der+fixmatch``: the method, then its unlabeled loss)."""
    registry, kind = load_registry(), kind_of(args.kind)
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


COMMANDS = {
    "run": command_run,
    "bench": command_bench,
    "report": command_report,
    "config": command_config,
    "plugins": command_plugins,
    "list": command_list,
    "describe": command_describe,
}


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
        args = build_parser().parse_args(argv or ["run"])
        code = COMMANDS[args.command](args)
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
