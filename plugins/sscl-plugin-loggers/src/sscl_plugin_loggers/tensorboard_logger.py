"""The ``tensorboard`` callback: losses and accuracies as TensorBoard scalars in ``RUN_DIR/tensorboard``.

Scalars: ``loss/<name>`` for each of the method's named losses and ``lr`` (the learning rate), at step
``global_iter``, every ``every``-th iteration of a task and at its last; after each task's evaluation
``accuracy/<protocol>/average`` (the mean over the tasks seen so far) and ``accuracy/<protocol>/task<j>`` (task
``j``, counted from 0) at step ``task_index`` (the task just trained, counted from 0), then the writer flushes.

A resumed run (or one started over) opens a new event file with ``purge_step`` set to its first global
iteration, so TensorBoard hides what the stopped run logged from that step on.

Needs the ``tensorboard`` package: ``pip install 'sscl-plugin-loggers[tensorboard]'``.
"""

from __future__ import annotations

import statistics
from typing import Any

import attrs

from sscl_core import Callback, RunContext, SsclError, Task, component, hookimpl, param
from sscl_plugin_loggers.schedule import iteration_due

LOG_DIR = "tensorboard"
"""The folder of the event files, in the run directory."""

MISSING_PACKAGE = "callback 'tensorboard' needs the tensorboard package: pip install 'sscl-plugin-loggers[tensorboard]'"
"""The one-line error of a run that selects the callback without the package installed."""


def summary_writer_class() -> type:
    """``torch.utils.tensorboard.SummaryWriter``; an :class:`SsclError` saying what to install if it is missing."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise SsclError(MISSING_PACKAGE) from None
    return SummaryWriter


@component
class TensorBoardLogger(Callback):
    """Writes losses (every N iterations) and accuracies (after each task) as TensorBoard scalars."""

    name = "tensorboard"
    every: int = param(
        10, help="write the losses every N iterations (and at each task's last)", validator=attrs.validators.ge(1)
    )

    def _require_run(self) -> None:
        if getattr(self, "_writer_class", None) is None:
            raise SsclError(f"callback '{self.name}' was used before its before_run hook")

    @hookimpl
    def before_run(self, ctx: RunContext) -> None:
        """Check that tensorboard is installed (else fail the run in one line); the writer opens at the first task."""
        self._writer_class = summary_writer_class()
        self._log_dir = ctx.run_dir / LOG_DIR
        self._writer: Any = None

    @hookimpl
    def before_task(self, ctx: RunContext) -> None:
        """Open the writer at the first task this process trains, purging what a stopped run logged after it."""
        self._require_run()
        if self._writer is None:
            earlier = self._log_dir.is_dir() and any(self._log_dir.glob("*tfevents*"))
            self._writer = self._writer_class(
                log_dir=str(self._log_dir), purge_step=ctx.global_iter if earlier else None
            )

    @hookimpl
    def after_iter(self, ctx: RunContext, losses: dict[str, float]) -> None:
        """Add ``loss/<name>`` and ``lr`` at step ``global_iter`` on the iterations ``every`` selects."""
        if self._writer is None or not iteration_due(ctx.task_iter, ctx.config.train.iters_per_task, self.every):
            return
        for name, value in losses.items():
            self._writer.add_scalar(f"loss/{name}", float(value), global_step=ctx.global_iter)
        if ctx.optimizer is not None:
            self._writer.add_scalar("lr", float(ctx.optimizer.param_groups[0]["lr"]), global_step=ctx.global_iter)

    @hookimpl
    def after_val(self, ctx: RunContext, task: Task, accuracies: dict[str, list[float]]) -> None:
        """Add each protocol's average and per-task accuracy at step ``task_index``, then flush to disk."""
        if self._writer is None:
            return
        step = ctx.task_index
        for protocol, per_task in accuracies.items():
            if per_task:
                self._writer.add_scalar(f"accuracy/{protocol}/average", statistics.fmean(per_task), global_step=step)
            for j, accuracy in enumerate(per_task):
                self._writer.add_scalar(f"accuracy/{protocol}/task{j}", float(accuracy), global_step=step)
        self._writer.flush()

    @hookimpl
    def after_run(self, ctx: RunContext) -> None:
        """Flush and close the writer."""
        if getattr(self, "_writer", None) is not None:
            self._writer.close()
            self._writer = None
