"""Evaluation: accuracy matrices under task-IL and class-IL, and the summary metrics of continual learning.

``R[i][j]`` is the accuracy (in %) on task j after training task i, for j <= i (``None`` above the
diagonal). Task-IL restricts the prediction to task j's classes; class-IL to every class seen so far.
"""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING

import torch

from sscl_core.backbone import masked_logits
from sscl_core.method import Method

if TYPE_CHECKING:
    from sscl_core.context import RunContext

Matrix = list[list[float | None]]
PROTOCOLS = ("task-il", "class-il")


@torch.no_grad()
def evaluate_seen_tasks(ctx: RunContext) -> dict[str, list[float]]:
    """Accuracy on the test data of every task up to ``ctx.task_index``, per protocol."""
    ctx.model.eval()
    seen = ctx.seen_classes()
    size = ctx.config.train.eval_batch_size
    result: dict[str, list[float]] = {p: [] for p in PROTOCOLS}
    uses_task_id = type(ctx.method).eval_logits is not Method.eval_logits
    for task in ctx.stream.tasks[: ctx.task_index + 1]:
        correct = {p: 0 for p in PROTOCOLS}
        for start in range(0, len(task.test_y), size):
            x = ctx.stream.transforms.test(task.test_x[start : start + size].to(ctx.device))
            y = task.test_y[start : start + size].to(ctx.device)
            class_logits = ctx.method.eval_logits(x, None, ctx)
            task_logits = ctx.method.eval_logits(x, task.id, ctx) if uses_task_id else class_logits
            correct["task-il"] += int((masked_logits(task_logits, task.classes).argmax(1) == y).sum())
            correct["class-il"] += int((masked_logits(class_logits, seen).argmax(1) == y).sum())
        for p in PROTOCOLS:
            result[p].append(100.0 * correct[p] / max(1, len(task.test_y)))
    ctx.model.train()
    return result


def mean_average_accuracy(R: Matrix) -> float:
    """Mean over tasks i of the average accuracy on tasks 0..i after training task i."""
    return statistics.fmean(statistics.fmean(row[: i + 1]) for i, row in enumerate(R))


def final_average_accuracy(R: Matrix) -> float:
    """Average accuracy over all tasks after the last one."""
    return statistics.fmean(R[-1][: len(R)])


def average_forgetting(R: Matrix) -> float:
    """Mean over tasks j < T-1 of (best accuracy on j before the end) - (final accuracy on j); 0 for one task."""
    T = len(R)
    if T < 2:
        return 0.0
    return statistics.fmean(max(R[i][j] for i in range(j, T - 1)) - R[T - 1][j] for j in range(T - 1))


def backward_transfer(R: Matrix) -> float:
    """Mean over tasks j < T-1 of (final accuracy on j) - (accuracy on j right after learning it)."""
    T = len(R)
    if T < 2:
        return 0.0
    return statistics.fmean(R[T - 1][j] - R[j][j] for j in range(T - 1))


def summarize(R: Matrix) -> dict[str, float]:
    """All summary metrics of one accuracy matrix."""
    return {
        "mean_average_accuracy": mean_average_accuracy(R),
        "final_average_accuracy": final_average_accuracy(R),
        "average_forgetting": average_forgetting(R),
        "backward_transfer": backward_transfer(R),
    }
