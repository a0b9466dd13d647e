"""The runs of a bench, planned before any starts: seeds outer, grid points next, methods inner; each run new
(start), finished with the same config (reuse) or interrupted (resume), and a folder holding a run of another
config refused.

Every run is an ``sscl run`` command line (or the hand-written loop's), so an executor can start it as a
process (:mod:`~sscl_plugin_bench.local`) or call the same ``main`` in a Ray worker
(:mod:`~sscl_plugin_bench.ray_executor`). Run directories are ``OUT/runs/<name>``, logs ``OUT/logs/<name>.log``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import attrs

from sscl_core.api.errors import SsclError
from sscl_core.config.run_config import load_config, read_yaml
from sscl_core.plugins.registry import Registry, config_path
from sscl_core.run.checkpoint import read_manifest
from sscl_core.run.resolve import resolve_components
from sscl_core.run.resume import completed_record, config_differences, config_sha256
from sscl_core.run.rundir import CONFIG_FILE, METRICS_FILE
from sscl_plugin_bench.grid import Axis, check_axis_keys, grid_points, point_overrides, point_suffix
from sscl_plugin_bench.protocol import HANDWRITTEN_LABEL, BenchEntry, Protocol

RUN_MODULE = "sscl_core.cli"
"""The module whose ``main`` runs ``sscl run``."""
HANDWRITTEN_MODULE = "sscl_plugin_bench.handwritten"
"""The module whose ``main`` runs the hand-written loop."""


@attrs.define
class PlannedRun:
    """One run of a bench: label, seed and grid point, the module and arguments whose ``main`` runs it, its
    directory and log, and whether it starts, resumes or is reused."""

    label: str
    seed: int
    module: str
    argv: list[str]
    run_dir: Path
    log: Path
    mode: str = "start"
    point: dict[str, Any] = attrs.field(factory=dict)

    @property
    def command(self) -> list[str]:
        """The run as a process's command line."""
        return [sys.executable, "-m", self.module, *self.argv]

    def argv_now(self) -> list[str]:
        """The arguments as they stand when the run starts: a ``sscl run`` planned to start resumes instead
        when an earlier attempt (a worker that died) left its run directory behind."""
        if self.module == RUN_MODULE and "--resume" not in self.argv and (self.run_dir / CONFIG_FILE).is_file():
            return [self.argv[0], "--resume", str(self.run_dir), *self.argv[1:]]
        return list(self.argv)


@attrs.define
class Outcome:
    """How one run ended: exit code, wall time, and a note when it ended without an exit code (a worker that
    died on every attempt)."""

    code: int
    seconds: float
    note: str | None = None


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


def _mode(run_dir: Path, resolved: dict, registry: Registry) -> str:
    """Whether a run directory is new (start), finished with this config (reuse) or interrupted (resume)."""
    if not (run_dir / CONFIG_FILE).is_file():
        return "start"
    existing = completed_record(read_yaml(run_dir / CONFIG_FILE), registry)
    if config_sha256(existing) != config_sha256(resolved):
        differences = config_differences(existing, resolved)
        raise SsclError(
            f"{run_dir} holds a run of another config ({', '.join(differences[:3])}): bench into a new --out folder "
            "or remove that run directory"
        )
    manifest = read_manifest(run_dir)
    return "reuse" if manifest is not None and manifest.finished else "resume"


def _resolved(protocol: Protocol, entry: BenchEntry, sets: list[str], registry: Registry) -> dict[str, Any]:
    """The resolved config of ``entry`` with the ``--set`` assignments ``sets``."""
    args = entry.run_arguments(str(protocol.config))
    method = None if entry.preset else entry.method or entry.label
    config = load_config(config_path(args[0], registry), [*entry.overrides, *sets], {"method": method})
    return resolve_components(config, registry).resolved_config(config)


def _handwritten(protocol: Protocol, entry: BenchEntry, sets: list[str], seed: int, name: str, out: Path) -> PlannedRun:
    """The hand-written loop beside ``entry`` (finetune) at one seed and point."""
    run_dir = out / "runs" / name
    argv = [str(protocol.config), *(x for s in [*entry.overrides, *sets, f"seed={seed}"] for x in ("--set", s))]
    mode = "reuse" if (run_dir / METRICS_FILE).is_file() else "start"
    return PlannedRun(
        HANDWRITTEN_LABEL,
        seed,
        HANDWRITTEN_MODULE,
        [*argv, "--run-dir", str(run_dir)],
        run_dir,
        out / "logs" / f"{name}.log",
        mode,
    )


def plan_runs(
    protocol: Protocol,
    entries: tuple[BenchEntry, ...],
    seeds: tuple[int, ...],
    overrides: list[str],
    out_dir: Path,
    registry: Registry,
    axes: tuple[Axis, ...] = (),
) -> tuple[list[PlannedRun], list[str]]:
    """The runs in the order they start (seeds outer, grid points next, methods inner) and the entries skipped
    (with why). The hand-written loop runs beside ``finetune`` at the first grid point of every seed."""
    runs_dir, logs_dir = out_dir / "runs", out_dir / "logs"
    runnable, skipped = [], []
    for entry in entries:
        why = _installed(entry, registry)
        if why is None:
            runnable.append(entry)
        else:
            skipped.append(f"{entry.label}: {why}")
    if axes:
        check_axis_keys(axes, (_resolved(protocol, entry, overrides, registry) for entry in runnable))
    planned = []
    for seed in seeds:
        for index, point in enumerate(grid_points(axes)):
            sets = [*overrides, *point_overrides(point)]
            for entry in runnable:
                name = f"{entry.label}{point_suffix(point)}-s{seed}"
                where = [f"seed={seed}", f"run_name={name}", f"output_dir={runs_dir}"]
                run_dir = runs_dir / name
                mode = _mode(run_dir, _resolved(protocol, entry, [*sets, *where], registry), registry)
                resume = ["--resume", str(run_dir)] if mode == "resume" else []
                args = entry.run_arguments(str(protocol.config))
                argv = ["run", *resume, *args, *(x for s in [*sets, *where] for x in ("--set", s))]
                planned.append(
                    PlannedRun(entry.label, seed, RUN_MODULE, argv, run_dir, logs_dir / f"{name}.log", mode, point)
                )
                if protocol.handwritten_loop and entry.label == "finetune" and index == 0:
                    hand_name = f"{HANDWRITTEN_LABEL}{point_suffix(point)}-s{seed}"
                    planned.append(_handwritten(protocol, entry, sets, seed, hand_name, out_dir))
    return planned, skipped
