"""The evaluator interface and the summary metrics of continual learning for any metric matrix ``R[metric][i][j]``:
the score on task j after training task i (``None`` above the diagonal), higher is better."""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING, ClassVar

from sscl_core.api.components import component

if TYPE_CHECKING:
    from sscl_core.api.context import RunContext

Matrix = list[list[float | None]]
"""R[i][j]: the score on task j after training task i; ``None`` for tasks not seen yet."""


@component
class Evaluator:
    """Base class of evaluators: score the model on every task seen so far under each of ``metrics``; metrics.json keeps
    them under ``result_key`` with ``unit``; ``problems`` lists the problem kinds it scores."""

    name: ClassVar[str]
    problems: ClassVar[tuple[str, ...]] = ()
    metrics: ClassVar[tuple[str, ...]] = ()
    result_key: ClassVar[str] = "scores"
    unit: ClassVar[str] = ""

    def evaluate(self, ctx: RunContext) -> dict[str, list[float]]:
        """For each metric, the score on tasks 0..``ctx.task_index`` (the model as it is now; higher is better)."""
        raise NotImplementedError


def mean_average_accuracy(R: Matrix) -> float:
    """Mean over tasks i of the average score on tasks 0..i after training task i."""
    return statistics.fmean(statistics.fmean(row[: i + 1]) for i, row in enumerate(R))


def final_average_accuracy(R: Matrix) -> float:
    """Average score over all tasks after the last one."""
    return statistics.fmean(R[-1][: len(R)])


def average_forgetting(R: Matrix) -> float:
    """Mean over tasks j < T-1 of (best score on j before the end) - (final score on j); 0 for one task."""
    T = len(R)
    if T < 2:
        return 0.0
    return statistics.fmean(max(R[i][j] for i in range(j, T - 1)) - R[T - 1][j] for j in range(T - 1))


def backward_transfer(R: Matrix) -> float:
    """Mean over tasks j < T-1 of (final score on j) - (score on j right after learning it)."""
    T = len(R)
    if T < 2:
        return 0.0
    return statistics.fmean(R[T - 1][j] - R[j][j] for j in range(T - 1))


def summarize(R: Matrix) -> dict[str, float]:
    """All summary metrics of one matrix (named as for accuracy, the field's habit, whatever the metric)."""
    return {
        "mean_average_accuracy": mean_average_accuracy(R),
        "final_average_accuracy": final_average_accuracy(R),
        "average_forgetting": average_forgetting(R),
        "backward_transfer": backward_transfer(R),
    }
