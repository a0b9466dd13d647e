"""Accuracy of a classifier on every task seen so far: task-IL masks to task j's classes, class-IL to all seen."""

from typing import ClassVar

import torch

from sscl_core.api.components import component
from sscl_core.api.context import RunContext
from sscl_core.api.evaluator import Evaluator
from sscl_core.api.method import Method
from sscl_core.classification import PROBLEM
from sscl_core.classification.model import masked_logits
from sscl_core.library.batches import test_views

PROTOCOLS = ("task-il", "class-il")
"""The two accuracy protocols, the metrics of the ``accuracy`` evaluator."""


@component
class Accuracy(Evaluator):
    """Top-1 accuracy (%) on each seen task's test data, with the method's ``eval_logits``."""

    name = "accuracy"
    problems: ClassVar[tuple[str, ...]] = (PROBLEM,)
    metrics: ClassVar[tuple[str, ...]] = PROTOCOLS
    result_key: ClassVar[str] = "accuracy"
    unit: ClassVar[str] = "%"

    @torch.no_grad()
    def evaluate(self, ctx: RunContext) -> dict[str, list[float]]:
        """Accuracy on the test data of every task up to ``ctx.task_index``, per protocol."""
        ctx.model.eval()
        seen = ctx.seen_classes()
        result: dict[str, list[float]] = {p: [] for p in PROTOCOLS}
        uses_task_id = type(ctx.method).eval_logits is not Method.eval_logits
        for task in ctx.stream.tasks[: ctx.task_index + 1]:
            correct = {p: 0 for p in PROTOCOLS}
            for rows, x in test_views(ctx, task.test_x):
                y = task.test_y[rows].to(ctx.device)
                class_logits = ctx.method.eval_logits(x, None, ctx)
                task_logits = ctx.method.eval_logits(x, task.id, ctx) if uses_task_id else class_logits
                correct["task-il"] += int((masked_logits(task_logits, task.classes).argmax(1) == y).sum())
                correct["class-il"] += int((masked_logits(class_logits, seen).argmax(1) == y).sum())
            for p in PROTOCOLS:
                result[p].append(100.0 * correct[p] / max(1, len(task.test_y)))
        ctx.model.train()
        return result
