"""Fixtures of the loggers' tests: short digits runs, a probe of every iteration's losses, kills before a
checkpoint (imported in importlib mode, so test modules reach them as fixtures)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sscl_core import Callback, component, hookimpl, param
from sscl_core.config.run_config import load_config
from sscl_core.plugins.registry import load_registry
from sscl_core.run.trainer import Trainer
from sscl_core.testing import KillAt, SimulatedKill

ITERS = 6
"""Iterations per task of the digits runs."""

TASKS = 3
"""Tasks of the digits runs."""


@pytest.fixture
def loss_probe():
    """A callback class ``loss-probe`` and the list of (task, iter, global_iter, lr, losses) it records."""
    records = []

    @component
    class LossProbe(Callback):
        name = "loss-probe"

        @hookimpl
        def after_iter(self, ctx, losses):
            lr = ctx.optimizer.param_groups[0]["lr"]
            records.append((ctx.task_index, ctx.task_iter, ctx.global_iter, lr, dict(losses)))

    return LossProbe, records


@component
class KillAfterVal(Callback):
    """Stops a run like a kill right after the evaluation of task ``task`` (before its checkpoint), once per run
    directory; list it before the loggers so their ``after_val`` runs first (hooks run in reverse order)."""

    name = "kill-after-val"
    task: int = param(0, help="task index after whose evaluation the run is stopped")

    @hookimpl
    def after_val(self, ctx):
        mark = ctx.run_dir / "killed-after-val"
        if ctx.task_index == self.task and not mark.exists():
            mark.touch()
            raise SimulatedKill


@pytest.fixture
def digits(tmp_path):
    """``make(folder, callbacks, overrides, extra)``: the config and registry of a short der run on digits in
    ``tmp_path/folder/run`` (``callbacks`` as a ``--set callbacks=...`` value, ``extra`` callback classes added
    to the installed plugins' registry)."""

    def make(folder: str, callbacks: str, overrides=(), extra=()):
        registry = load_registry()
        for cls in (KillAt, KillAfterVal, *extra):
            registry.add("callback", cls, "tests")
        config = load_config(
            overrides=[
                f"output_dir={tmp_path / folder}",
                "run_name=run",
                "device=cpu",
                "method=der",
                f"dataset.num_tasks={TASKS}",
                f"train.iters_per_task={ITERS}",
                f"callbacks={callbacks}",
                *overrides,
            ]
        )
        return config, registry

    return make


@pytest.fixture
def killed_and_resumed(digits):
    """``run(folder, kill, callbacks)``: a run stopped by the ``kill`` callback spec (before the ``callbacks``),
    then resumed to its end; returns the run directory and the resumed run's result."""

    def run(folder: str, kill: str, callbacks: str):
        config, registry = digits(folder, f"[{kill}, {callbacks.strip('[]')}]")
        with pytest.raises(SimulatedKill):
            Trainer(config, registry).run()
        run_dir = Path(config.output_dir) / "run"
        return run_dir, Trainer.resume(run_dir, config, registry).run()

    return run
