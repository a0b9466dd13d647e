"""Learning without Forgetting: distil the previous model's outputs on old classes."""

from __future__ import annotations

import copy

import attrs
import torch
import torch.nn.functional as F
from torch import Tensor

from sscl_core import Method, RunContext, SemiBatch, Task, component, hookimpl, param


@component
class LearningWithoutForgetting(Method):
    """Cross-entropy on labeled samples plus knowledge distillation towards the model of the previous task."""

    name = "lwf"
    alpha: float = param(1.0, help="weight of the distillation loss", validator=attrs.validators.ge(0.0))
    temperature: float = param(2.0, help="softmax temperature of distillation", validator=attrs.validators.gt(0.0))

    @hookimpl
    def before_task(self, ctx: RunContext, task: Task) -> None:
        """Freeze a copy of the model as it was at the end of the previous task."""
        self.old_classes = ctx.stream.classes_up_to(ctx.task_index - 1) if ctx.task_index > 0 else []
        self.teacher = copy.deepcopy(ctx.model).eval().requires_grad_(False) if self.old_classes else None

    def forward_train(self, batch: SemiBatch, ctx: RunContext) -> dict[str, Tensor]:
        """Labeled cross-entropy and, after the first task, distillation on the old classes."""
        logits = ctx.model(batch.x)
        losses = {"ce": F.cross_entropy(logits, batch.y)}
        if self.teacher is not None:
            with torch.no_grad():
                target = self.teacher(batch.x)[:, self.old_classes] / self.temperature
            student = logits[:, self.old_classes] / self.temperature
            kd = F.kl_div(F.log_softmax(student, 1), F.log_softmax(target, 1), log_target=True, reduction="batchmean")
            losses["distill"] = self.alpha * self.temperature**2 * kd
        return losses
