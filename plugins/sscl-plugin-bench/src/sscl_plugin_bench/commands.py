"""The ``sscl bench`` and ``sscl report`` commands: their arguments and what they run."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import attrs

from sscl_core import Command, SsclError
from sscl_core.api.command import add_overrides_argument
from sscl_core.plugins.registry import Registry, config_path
from sscl_plugin_bench.grid import grid_points, merge_axes, parse_grid_option
from sscl_plugin_bench.local import LocalExecutor
from sscl_plugin_bench.plan import plan_runs
from sscl_plugin_bench.protocol import Protocol, Resources, read_protocol
from sscl_plugin_bench.ray_executor import RayExecutor, check_address, import_ray
from sscl_plugin_bench.report import Report, write_report
from sscl_plugin_bench.runner import Executor, prepare_out, run_bench


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``sscl bench``."""
    parser.add_argument("protocol", help="a protocol preset (sscl list presets) or a config file with a bench section")
    parser.add_argument(
        "--methods", nargs="+", metavar="LABEL", help="only these (a name the protocol lacks runs as --method NAME)"
    )
    parser.add_argument("--seeds", nargs="+", type=int, metavar="SEED", help="seeds instead of the protocol's")
    add_overrides_argument(parser, "override a setting of every run")
    parser.add_argument("--out", type=Path, help="output folder (default: bench/PROTOCOL-TIME; an earlier one resumes)")
    parser.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2,...",
        type=str,
        help="a grid axis: one run per value (repeatable; values parse like --set values)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="local executor: runs side by side (default 1)")
    parser.add_argument(
        "--executor", choices=("local", "ray"), default="local", help="local processes (default) or Ray tasks"
    )
    parser.add_argument("--address", help="Ray executor: the cluster's address (default: Ray on this machine)")
    parser.add_argument("--num-cpus", type=int, help="Ray executor: CPUs (and torch threads) per run")
    parser.add_argument("--num-gpus", type=float, help="Ray executor: GPUs per run")


def _executor(args: argparse.Namespace, protocol: Protocol, out: Path, token: str) -> Executor:
    """The executor the arguments ask for."""
    if args.executor == "local":
        return LocalExecutor(args.jobs)
    given = {"num_cpus": args.num_cpus, "num_gpus": args.num_gpus}
    raw = {**attrs.asdict(protocol.resources), **{k: v for k, v in given.items() if v is not None}}
    return RayExecutor(Resources.read(raw, "--num-cpus/--num-gpus"), args.address, out, token)


def run_bench_command(args: argparse.Namespace, registry: Registry) -> int:
    """Run a protocol and write its report; exit code 1 when a run failed."""
    if args.jobs < 1:
        raise SsclError(f"--jobs must be at least 1, got {args.jobs}")
    if args.seeds is not None and any(seed < 0 for seed in args.seeds):
        raise SsclError(f"--seeds must be integers >= 0, got {args.seeds}")
    if args.executor == "local" and (args.address, args.num_cpus, args.num_gpus) != (None, None, None):
        raise SsclError("--address, --num-cpus and --num-gpus are options of --executor ray")
    if args.executor == "ray":
        import_ray()
        if args.address is not None:
            check_address(args.address)
    path = config_path(args.protocol, registry)
    protocol = read_protocol(path.stem, path)
    entries = protocol.select(args.methods)
    seeds = tuple(dict.fromkeys(args.seeds)) if args.seeds else protocol.seeds
    axes = merge_axes(protocol.grid, [parse_grid_option(text) for text in args.grid])
    out = (args.out or Path("bench") / f"{protocol.name}-{time.strftime('%Y%m%d-%H%M%S')}").absolute()
    planned, skipped = plan_runs(protocol, entries, seeds, args.overrides, out, registry, axes)
    for line in skipped:
        print(f"skipped {line}")
    if not planned:
        raise SsclError(f"no method of protocol '{protocol.name}' is installed: {'; '.join(skipped)}")
    executor = _executor(args, protocol, out, prepare_out(out))
    points = f", {len(grid_points(axes))} grid points" if axes else ""
    print(f"bench {protocol.name}: {len(planned)} runs ({len(seeds)} seeds{points}) into {out}, {executor.describe()}")
    result = run_bench(protocol, planned, skipped, out, executor)
    print_report(result.report)
    if result.failed:
        print(f"{len(result.failed)} runs failed: {', '.join(result.failed)}; rerun with --out {out} to retry them")
        return 1
    return 0


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``sscl report``."""
    parser.add_argument("paths", nargs="+", type=Path, metavar="RUN_DIR", help="run directories or folders of them")
    parser.add_argument("--out", type=Path, default=Path("report"), help="output folder (default: report)")
    parser.add_argument(
        "--reference",
        action="append",
        dest="references",
        metavar="LABEL",
        help="label the time ratios are taken to (repeatable; default: finetune and der+fixmatch)",
    )


def run_report_command(args: argparse.Namespace, _registry: Registry) -> int:
    """Write the table, raw numbers and plots of existing run directories."""
    references = args.references or ["finetune", "der+fixmatch"]
    print_report(write_report(args.paths, args.out, references, title="sscl report"))
    return 0


def print_report(report: Report) -> None:
    """The report's Markdown, then where its files and plots went (or why there are no plots)."""
    print(report.markdown)
    print(f"wrote {report.markdown_file}, {report.json_file}", end="")
    print(f" and {len(report.plots)} plots in {report.plots[0].parent}" if report.plots else "")
    if report.plots_skipped:
        print(f"no plots: {report.plots_skipped}")


BENCH = Command(
    name="bench",
    help="run a protocol's methods over its seeds, then write the table, raw numbers and plots",
    add_arguments=add_bench_arguments,
    run=run_bench_command,
)
REPORT = Command(
    name="report",
    help="the benchmark table, raw numbers and plots of existing run directories",
    add_arguments=add_report_arguments,
    run=run_report_command,
)
