"""Progressive neural networks (PNN): a new column per task; earlier columns never change."""

from __future__ import annotations

from typing import Any

import attrs
import torch
from torch import Tensor

from sscl_core import Method, RunContext, SemiBatch, Task, component, hookimpl, param
from sscl_plugin_cl.progressive import ProgressiveNetwork
from sscl_plugin_cl.supervised import task_cross_entropy


@component
class ProgressiveNeuralNetworks(Method):
    """Progressive neural networks (Rusu et al., 2016), task-IL only: one column per task.

    ``before_task`` freezes every existing column (parameters and BatchNorm statistics) and adds a column
    built from the run's backbone (``ctx.backbone.build``, so any backbone works) with its own head and
    non-linear lateral adapters from the features of every earlier column. Laterals join at the feature level
    (the backbone's documented ``features`` output), not at every layer as in the paper. The optimizer is
    rebuilt over the new column only; the column is trained with cross-entropy over its task's classes.
    Task-IL evaluation uses the task's own column. PNN needs the task id to pick a column, so it is not a
    class-IL method: for ``task_id=None`` each task's classes are scored by that task's column, scores the
    columns were never trained to compare, so the class-IL numbers a task-IL run reports for PNN mean little.
    Resuming rebuilds the columns from the method's state (``load_state_dict``).
    """

    name = "pnn"
    compatibility = ("task-il",)
    adapter_width: int = param(
        64,
        help="hidden units of each lateral adapter (0: no laterals, independent columns)",
        validator=attrs.validators.ge(0),
    )

    def __attrs_post_init__(self) -> None:
        self._ctx: RunContext | None = None

    @property
    def network(self) -> ProgressiveNetwork:
        """The run's progressive network (the model after ``before_run``)."""
        return self._ctx.model

    @hookimpl
    def before_run(self, ctx: RunContext) -> None:
        """Replace the model by an empty progressive network."""
        self._ctx = ctx
        shape = ctx.stream.input_shape
        ctx.model = ProgressiveNetwork(
            lambda: ctx.backbone.build(shape), ctx.stream.num_classes, self.adapter_width
        ).to(ctx.device)

    def _grow(self, ctx: RunContext) -> None:
        self.network.add_column().to(ctx.device)

    @hookimpl
    def before_task(self, ctx: RunContext, task: Task) -> None:
        """Add this task's column (unless a resumed run restored it) and train only it."""
        while len(self.network.columns) <= ctx.task_index:
            self._grow(ctx)
        ctx.model.train()
        ctx.rebuild_optimizer()

    def forward_train(self, batch: SemiBatch, ctx: RunContext) -> dict[str, Tensor]:
        """Cross-entropy of the current column over its task's classes."""
        task_ids = torch.full_like(batch.y, batch.task_id)
        return {"ce": task_cross_entropy(ctx.model(batch.x), batch.y, task_ids, ctx)}

    def eval_logits(self, x: Tensor, task_id: int | None, ctx: RunContext) -> Tensor:
        """Task-IL: the logits of the task's column. Class-IL: each task's classes scored by its column."""
        if task_id is not None:
            return self.network.column_logits(x, task_id)
        per_column = self.network.all_column_logits(x, len(self.network.columns) - 1)
        tasks = ctx.stream.tasks[: len(per_column)]
        out = torch.full_like(per_column[0], float("-inf"))
        for task, logits in zip(tasks, per_column, strict=True):
            out[:, list(task.classes)] = logits[:, list(task.classes)]
        return out

    def state_dict(self) -> dict[str, Any]:
        """The number of columns (their weights are in the model's state)."""
        return {"columns": len(self.network.columns)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Rebuild as many columns as the checkpoint had, so the model's state loads into them."""
        while len(self.network.columns) < int(state["columns"]):
            self._grow(self._ctx)
