"""``sscl bench``: run the planned runs of a protocol through an executor, then write the report.

Seeds are the outer loop, grid points the next and methods the inner one, so slow drift of a shared machine
spreads over all methods alike (:mod:`~sscl_plugin_bench.plan`). An executor runs them: the local one as
processes on this machine (:mod:`~sscl_plugin_bench.local`), or Ray tasks on a cluster
(:mod:`~sscl_plugin_bench.ray_executor`). Running the same bench into the same OUT again reuses finished runs
whose config is unchanged and resumes interrupted ones from their last checkpoint.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Protocol as Interface

import attrs
from tqdm import tqdm

from sscl_core.api.errors import SsclError
from sscl_core.run.rundir import METRICS_FILE, read_metrics
from sscl_plugin_bench.plan import Outcome, PlannedRun
from sscl_plugin_bench.protocol import Protocol
from sscl_plugin_bench.report import Report, write_report

TOKEN_FILE = ".bench-token"
"""A file the bench writes into OUT with a random token, which every Ray node must read back (shared folder)."""


class Executor(Interface):
    """What runs a bench's runs: the local process pool or Ray."""

    def describe(self) -> str:
        """How the runs are executed, for the bench's first line."""

    def execute(self, todo: list[PlannedRun], finished: Callable[[PlannedRun, Outcome], None]) -> None:
        """Run every planned run; call ``finished`` as each ends."""


@attrs.define
class BenchResult:
    """The report and the runs that failed (label-s<seed>: the last line of their log)."""

    report: Report
    failed: dict[str, str]
    skipped: list[str]


def prepare_out(out_dir: Path) -> str:
    """Create OUT and write its token file; one clear error when this process cannot write there."""
    token = secrets.token_hex(8)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / TOKEN_FILE).write_text(token, encoding="utf-8")
    except OSError as error:
        raise SsclError(
            f"--out {out_dir}: cannot write there ({error.strerror or error}): pick a folder you can write"
        ) from None
    return token


def _summary_line(run: PlannedRun) -> str:
    metrics = read_metrics(run.run_dir)
    if "summary" not in metrics:
        return f"median iteration {1000 * metrics['timing']['median_iteration_seconds']:.2f} ms"
    names = {"task-il": "task-IL", "class-il": "class-IL"}
    scores = ", ".join(
        f"{names.get(metric, metric)} {summary['mean_average_accuracy']:.2f}"
        for metric, summary in metrics["summary"].items()
    )
    return f"{scores}, median iteration {1000 * metrics['timing']['median_iteration_seconds']:.2f} ms"


def _last_line(log: Path) -> str:
    if not log.is_file():
        return "no output"
    lines = [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def say_now(line: str) -> None:
    """Print a line at once, also into a file or a pipe (a bench's progress lines are read while it runs)."""
    print(line, flush=True)


def run_bench(
    protocol: Protocol,
    planned: list[PlannedRun],
    skipped: list[str],
    out_dir: Path,
    executor: Executor,
    echo: Callable[[str], None] = say_now,
) -> BenchResult:
    """Run the planned runs that are not reused through ``executor``, then write the report into ``out_dir``."""
    failed: dict[str, str] = {}
    finished_runs: list[str] = []
    todo = [run for run in planned if run.mode != "reuse"]
    for run in planned:
        if run.mode == "reuse":
            echo(f"reusing {run.run_dir.name} (finished, same config)")
    with tqdm(total=len(todo), unit="run", desc=f"bench {protocol.name}", disable=None, file=sys.stderr) as bar:
        say = bar.write if not bar.disable else echo

        def finished(run: PlannedRun, outcome: Outcome) -> None:
            done, name = len(finished_runs) + 1, run.run_dir.name
            finished_runs.append(name)
            if outcome.code == 0:
                say(f"[{done}/{len(todo)}] {name} in {outcome.seconds:.0f} s: {_summary_line(run)}")
            else:
                failed[name] = outcome.note or _last_line(run.log)
                say(f"[{done}/{len(todo)}] {name} FAILED (exit {outcome.code}): {failed[name]} (log: {run.log})")
            bar.update(1)

        executor.execute(todo, finished)
    ok = [run.run_dir for run in planned if run.run_dir.name not in failed and (run.run_dir / METRICS_FILE).is_file()]
    if not ok:
        raise SsclError(f"every run of the bench failed; see the logs in {out_dir / 'logs'}")
    report = write_report(ok, out_dir, protocol.references, title=f"sscl bench {protocol.name}")
    return BenchResult(report=report, failed=failed, skipped=skipped)
