"""``sscl bench``: run every method of a protocol over its seeds, interleaved, then write the report.

Seeds are the outer loop and methods the inner one, so slow drift of a shared machine spreads over all methods
alike; with ``jobs`` > 1 that many runs go side by side, each with its share of the CPU threads. Every run is its
own ``sscl run`` process (its peak memory is its own) writing ``OUT/runs/<label>-s<seed>`` and a log in
``OUT/logs``. Running the same bench into the same OUT again reuses finished runs whose config is unchanged and
resumes interrupted ones from their last checkpoint.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import attrs
from tqdm import tqdm

from sscl_core.api.errors import SsclError
from sscl_core.config.run_config import load_config, read_yaml
from sscl_core.plugins.registry import Registry, config_path
from sscl_core.run.checkpoint import read_manifest
from sscl_core.run.resolve import resolve_components
from sscl_core.run.resume import config_differences, config_sha256
from sscl_core.run.rundir import CONFIG_FILE, METRICS_FILE
from sscl_plugin_bench.protocol import HANDWRITTEN_LABEL, BenchEntry, Protocol
from sscl_plugin_bench.report import Report, write_report


@attrs.define
class PlannedRun:
    """One process of a bench: its label and seed, the command, and whether it starts, resumes or is reused."""

    label: str
    seed: int
    command: list[str]
    run_dir: Path
    log: Path
    mode: str = "start"


@attrs.define
class BenchResult:
    """The report and the runs that failed (label-s<seed>: the last line of their log)."""

    report: Report
    failed: dict[str, str]
    skipped: list[str]


def _installed(entry: BenchEntry, registry: Registry) -> str | None:
    """Why ``entry`` cannot run with the plugins installed, or None when it can."""
    if entry.preset is not None:
        return None if entry.preset in registry.presets else f"preset '{entry.preset}' is not installed"
    method = entry.method or entry.label
    base, _, loss = method.partition("+")
    if base not in registry.components["method"]:
        return f"method '{base}' is not installed"
    if loss and loss not in registry.components["unlabeled_loss"]:
        return f"unlabeled loss '{loss}' is not installed"
    return None


def _mode(run_dir: Path, resolved: dict) -> str:
    """Whether a run directory is new (start), finished with this config (reuse) or interrupted (resume)."""
    if not (run_dir / CONFIG_FILE).is_file():
        return "start"
    existing = read_yaml(run_dir / CONFIG_FILE)
    if config_sha256(existing) != config_sha256(resolved):
        differences = config_differences(existing, resolved)
        raise SsclError(
            f"{run_dir} holds a run of another config ({', '.join(differences[:3])}): bench into a new --out folder "
            "or remove that run directory"
        )
    manifest = read_manifest(run_dir)
    return "reuse" if manifest is not None and manifest.finished else "resume"


def plan_runs(
    protocol: Protocol,
    entries: tuple[BenchEntry, ...],
    seeds: tuple[int, ...],
    overrides: list[str],
    out_dir: Path,
    registry: Registry,
) -> tuple[list[PlannedRun], list[str]]:
    """The runs in the order they start (seeds outer, methods inner) and the entries skipped (with why)."""
    runs_dir, logs_dir = out_dir / "runs", out_dir / "logs"
    runnable, skipped = [], []
    for entry in entries:
        why = _installed(entry, registry)
        if why is None:
            runnable.append(entry)
        else:
            skipped.append(f"{entry.label}: {why}")
    python = [sys.executable, "-m", "sscl_core.cli", "run"]
    planned = []
    for seed in seeds:
        for entry in runnable:
            name = f"{entry.label}-s{seed}"
            where = [f"seed={seed}", f"run_name={name}", f"output_dir={runs_dir}"]
            args = entry.run_arguments(str(protocol.config))
            sets = [*entry.overrides, *overrides, *where]
            config = load_config(
                config_path(args[0], registry), sets, {"method": None if entry.preset else entry.method or entry.label}
            )
            resolved = resolve_components(config, registry).resolved_config(config)
            run_dir = runs_dir / name
            mode = _mode(run_dir, resolved)
            resume = ["--resume", str(run_dir)] if mode == "resume" else []
            command = [*python, *resume, *args, *(x for s in [*overrides, *where] for x in ("--set", s))]
            planned.append(PlannedRun(entry.label, seed, command, run_dir, logs_dir / f"{name}.log", mode))
            if protocol.handwritten_loop and entry.label == "finetune":
                name = f"{HANDWRITTEN_LABEL}-s{seed}"
                hand_dir = runs_dir / name
                command = [sys.executable, "-m", "sscl_plugin_bench.handwritten", str(protocol.config)]
                command += [x for s in [*entry.overrides, *overrides, f"seed={seed}"] for x in ("--set", s)]
                command += ["--run-dir", str(hand_dir)]
                mode = "reuse" if (hand_dir / METRICS_FILE).is_file() else "start"
                planned.append(PlannedRun(HANDWRITTEN_LABEL, seed, command, hand_dir, logs_dir / f"{name}.log", mode))
    return planned, skipped


def _run(run: PlannedRun, threads: int) -> tuple[PlannedRun, int, float]:
    """Run one planned process with its output in its log; its exit code and wall time."""
    run.log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    with run.log.open("a", encoding="utf-8") as log:
        code = subprocess.run(run.command, stdout=log, stderr=subprocess.STDOUT, env=env, check=False).returncode
    return run, code, time.perf_counter() - start


def _summary_line(run: PlannedRun) -> str:
    metrics = json.loads((run.run_dir / METRICS_FILE).read_text(encoding="utf-8"))
    if "summary" not in metrics:
        return f"median iteration {1000 * metrics['timing']['median_iteration_seconds']:.2f} ms"
    names = {"task-il": "task-IL", "class-il": "class-IL"}
    scores = ", ".join(
        f"{names.get(metric, metric)} {summary['mean_average_accuracy']:.2f}"
        for metric, summary in metrics["summary"].items()
    )
    return f"{scores}, median iteration {1000 * metrics['timing']['median_iteration_seconds']:.2f} ms"


def _last_line(log: Path) -> str:
    lines = [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def run_bench(
    protocol: Protocol,
    planned: list[PlannedRun],
    skipped: list[str],
    out_dir: Path,
    jobs: int = 1,
    echo: Callable[[str], None] = print,
) -> BenchResult:
    """Run the planned processes (``jobs`` at a time, in order), then write the report into ``out_dir``."""
    given = os.environ.get("OMP_NUM_THREADS", "")
    threads = int(given) if given.isdigit() and int(given) > 0 else max(1, (os.cpu_count() or 1) // jobs)
    failed: dict[str, str] = {}
    todo = [run for run in planned if run.mode != "reuse"]
    for run in planned:
        if run.mode == "reuse":
            echo(f"reusing {run.run_dir.name} (finished, same config)")
    with tqdm(total=len(todo), unit="run", desc=f"bench {protocol.name}", disable=None, file=sys.stderr) as bar:
        say = bar.write if not bar.disable else echo
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(_run, run, threads) for run in todo]
            for done, future in enumerate(as_completed(futures), 1):
                run, code, seconds = future.result()
                name = run.run_dir.name
                if code == 0:
                    say(f"[{done}/{len(todo)}] {name} in {seconds:.0f} s: {_summary_line(run)}")
                else:
                    failed[name] = _last_line(run.log)
                    say(f"[{done}/{len(todo)}] {name} FAILED (exit {code}): {failed[name]} (log: {run.log})")
                bar.update(1)
    ok = [run.run_dir for run in planned if run.run_dir.name not in failed and (run.run_dir / METRICS_FILE).is_file()]
    if not ok:
        raise SsclError(f"every run of the bench failed; see the logs in {out_dir / 'logs'}")
    report = write_report(ok, out_dir, protocol.references, title=f"sscl bench {protocol.name}")
    return BenchResult(report=report, failed=failed, skipped=skipped)
