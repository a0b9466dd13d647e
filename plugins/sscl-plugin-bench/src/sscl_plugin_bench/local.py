"""The local executor of ``sscl bench``: every run its own process on this machine, ``jobs`` side by side, each
with its share of the CPU threads (``OMP_NUM_THREADS``, when set, instead)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed

from sscl_plugin_bench.plan import Outcome, PlannedRun


def local_threads(jobs: int) -> int:
    """Torch threads per run: ``OMP_NUM_THREADS`` when set, else the CPUs shared out over ``jobs`` runs."""
    given = os.environ.get("OMP_NUM_THREADS", "")
    return int(given) if given.isdigit() and int(given) > 0 else max(1, (os.cpu_count() or 1) // jobs)


def run_process(run: PlannedRun, threads: int) -> Outcome:
    """Run one planned run as a process with its output in its log; its exit code and wall time."""
    run.log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    command = [*run.command[:3], *run.argv_now()]
    start = time.perf_counter()
    with run.log.open("a", encoding="utf-8") as log:
        code = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env, check=False).returncode
    return Outcome(code=code, seconds=time.perf_counter() - start)


class LocalExecutor:
    """Runs ``jobs`` processes at a time, in the planned order."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self.threads = local_threads(jobs)

    def describe(self) -> str:
        """How the runs are executed, for the bench's first line."""
        return f"{self.jobs} at a time, {self.threads} torch threads each"

    def execute(self, todo: list[PlannedRun], finished: Callable[[PlannedRun, Outcome], None]) -> None:
        """Run every planned run; ``finished`` is called as each ends."""
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            futures = {pool.submit(run_process, run, self.threads): run for run in todo}
            for future in as_completed(futures):
                finished(futures[future], future.result())
