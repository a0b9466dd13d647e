"""What the supervised methods share: the model's supervised loss on labeled samples (for classification the
cross-entropy, over all classes or the sample's task only) and on samples replayed from the memory pool."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from sscl_core import Method, RunContext, SemiBatch, component, param
from sscl_core.api.components import one_of
from sscl_core.api.memory import Samples
from sscl_core.api.samples import to_device


def draw_replay(ctx: RunContext, n: int) -> tuple[Tensor, Samples] | None:
    """Up to ``n`` stored samples with a fresh weak view of their images on the run's device, or ``None``
    while the pool is empty. The other stored keys (``y``, ``task_id``, ``logits``, ...) stay on the CPU."""
    samples = ctx.memory_pool.sample(n, ctx.generator)
    if samples is None:
        return None
    return ctx.stream.transforms.weak(to_device(samples["x"], ctx.device), ctx.generator), samples


def task_class_mask(task_ids: Tensor, ctx: RunContext) -> Tensor:
    """A boolean (N, num_classes) mask: True where the class belongs to the task of sample n."""
    table = torch.zeros((len(ctx.stream), ctx.stream.num_classes), dtype=torch.bool)
    for task in ctx.stream.tasks:
        table[task.id, list(task.classes)] = True
    return table[task_ids.cpu()].to(task_ids.device)


def task_cross_entropy(logits: Tensor, y: Tensor, task_ids: Tensor, ctx: RunContext) -> Tensor:
    """Cross-entropy of each sample over the classes of its own task only."""
    mask = task_class_mask(task_ids.to(logits.device), ctx)
    return F.cross_entropy(logits.masked_fill(~mask, float("-inf")), y)


def model_loss(ctx: RunContext) -> Callable[..., Tensor]:
    """The supervised loss of the run's network: its ``loss(outputs, targets, reduction)``, or the cross-entropy for
    a network that has none (a classifier a method built itself)."""
    return getattr(ctx.model, "loss", F.cross_entropy)


@component
class SupervisedMethod(Method):
    """Base class of methods trained with the model's supervised loss on labeled samples (``ctx.model.loss``: the
    cross-entropy for classification).

    ``ce_classes: all`` (the default) is the single-head cross-entropy over every class of the stream;
    ``task`` restricts it to the classes of each sample's own task (multi-head training, the usual choice for
    task-IL streams: the old tasks' logits are then not pushed down by the new task's loss; classification only).
    """

    ce_classes: str = param(
        "all",
        help="cross-entropy over 'all' classes of the stream or only the sample's own 'task' classes",
        validator=one_of("all", "task"),
    )

    def supervised_loss(self, outputs: Tensor, y: Tensor, task_ids: Tensor, ctx: RunContext) -> Tensor:
        """The model's loss of ``outputs`` against ``y``, masked to each sample's task when ``ce_classes`` is task."""
        if self.ce_classes == "task":
            return task_cross_entropy(outputs, y, task_ids, ctx)
        return model_loss(ctx)(outputs, y)

    def replay_loss(self, ctx: RunContext, n: int) -> Tensor | None:
        """The model's loss on up to ``n`` samples replayed from the pool with their stored targets (None while
        the pool is empty)."""
        replay = draw_replay(ctx, n)
        if replay is None:
            return None
        x, samples = replay
        y, task_ids = to_device(samples["y"], ctx.device), samples["task_id"].to(ctx.device)
        return self.supervised_loss(ctx.model(x), y, task_ids, ctx)

    def labeled_loss(self, logits: Tensor, batch: SemiBatch, ctx: RunContext) -> Tensor:
        """The model's loss on the labeled batch (all of it comes from the current task), weighted by
        ``batch.labeled_weight`` when a hook set it: the weighted sum over the total weight (at least 1)."""
        if self.ce_classes == "task":
            mask = task_class_mask(torch.full_like(batch.y, batch.task_id), ctx)
            logits = logits.masked_fill(~mask, float("-inf"))
        if batch.labeled_weight is None:
            return model_loss(ctx)(logits, batch.y)
        per_sample = model_loss(ctx)(logits, batch.y, reduction="none")
        weight = batch.labeled_weight.to(per_sample.dtype)
        return (per_sample * weight).sum() / weight.sum().clamp(min=1.0)
