"""The ``sscl bench`` and ``sscl report`` commands: their arguments and what they run."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from sscl_core import Command, SsclError
from sscl_core.plugins.registry import Registry, config_path
from sscl_plugin_bench.protocol import read_protocol
from sscl_plugin_bench.report import Report, write_report
from sscl_plugin_bench.runner import plan_runs, run_bench


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``sscl bench``."""
    parser.add_argument("protocol", help="a protocol preset (sscl list presets) or a config file with a bench section")
    parser.add_argument(
        "--methods", nargs="+", metavar="LABEL", help="only these (a name the protocol lacks runs as --method NAME)"
    )
    parser.add_argument("--seeds", nargs="+", type=int, metavar="SEED", help="seeds instead of the protocol's")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="overrides",
        help="override a setting of every run",
    )
    parser.add_argument("--out", type=Path, help="output folder (default: bench/PROTOCOL-TIME; an earlier one resumes)")
    parser.add_argument("--jobs", type=int, default=1, help="runs side by side (default 1)")


def run_bench_command(args: argparse.Namespace, registry: Registry) -> int:
    """Run a protocol and write its report; exit code 1 when a run failed."""
    if args.jobs < 1:
        raise SsclError(f"--jobs must be at least 1, got {args.jobs}")
    if args.seeds is not None and any(seed < 0 for seed in args.seeds):
        raise SsclError(f"--seeds must be integers >= 0, got {args.seeds}")
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
