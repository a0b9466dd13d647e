"""FlexMatch: FixMatch with class-wise thresholds following each class's learning status (curriculum pseudo labels)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from sscl_core import RunContext, SemiBatch, Task, component, hookimpl, param
from sscl_core.api.components import one_of
from sscl_plugin_ssl.fixmatch import FixMatch

MAPPINGS: dict[str, Callable[[Tensor], Tensor]] = {
    "convex": lambda beta: beta / (2.0 - beta),
    "linear": lambda beta: beta,
    "concave": lambda beta: torch.log1p(beta) / math.log(2.0),
}
"""FlexMatch's mappings M from the normalized learning effect to the threshold's scale (paper, section 3.2 and the
ablation on mapping functions): convex ``x / (2 - x)`` (the default), linear ``x``, concave ``ln(x + 1) / ln 2``."""

UNUSED = -1
"""The stored prediction of an unlabeled sample never predicted with confidence at least tau."""


def class_thresholds(
    predictions: Tensor,
    classes: Sequence[int],
    num_classes: int,
    tau: float,
    mapping: str = "convex",
    warmup: bool = True,
) -> Tensor:
    """FlexMatch's threshold of every class, a (num_classes,) float tensor on the CPU.

    ``predictions`` holds each unlabeled sample's stored class (``UNUSED`` for none). For each class c of
    ``classes`` the learning effect sigma(c) is the number of samples stored as c; beta(c) is sigma(c) divided by
    the largest sigma over ``classes`` or, with ``warmup``, by the larger of that and the number of unused
    samples; the threshold is ``M(beta(c)) * tau`` with ``M = MAPPINGS[mapping]``. A zero denominator (nothing
    learned yet and, with warm-up, no unused sample) gives beta 0, as the reference implementation keeps its
    initial zeros. Classes outside ``classes`` keep the base threshold ``tau``.
    """
    predictions = predictions.cpu()
    counts = torch.bincount(predictions[predictions != UNUSED], minlength=num_classes).to(torch.float32)
    index = torch.as_tensor(list(classes), dtype=torch.long)
    sigma = counts[index]
    denominator = sigma.max()
    if warmup:
        denominator = torch.maximum(denominator, (predictions == UNUSED).sum().to(torch.float32))
    beta = sigma / denominator if denominator > 0 else torch.zeros_like(sigma)
    thresholds = torch.full((num_classes,), float(tau))
    thresholds[index] = MAPPINGS[mapping](beta) * tau
    return thresholds


def record_confident(predictions: Tensor, index: Tensor, probs: Tensor, tau: float) -> None:
    """Store, in place, the most probable class of every row of ``probs`` whose highest probability is at least
    ``tau`` at ``predictions[index]``; the other rows' entries stay as they were."""
    confidence, labels = probs.detach().max(dim=1)
    confident = (confidence >= tau).to(predictions.device)
    predictions[index.to(predictions.device)[confident]] = labels.to(predictions.device)[confident]


@component
class FlexMatch(FixMatch):
    """FlexMatch (Zhang et al., 2021): FixMatch whose thresholds follow each class's learning status.

    The loss ``flexmatch`` is FixMatch's masked strong-view cross-entropy, but a pseudo-label of class c passes
    at confidence ``T(c) = M(beta(c)) * tau`` (see :func:`class_thresholds`): classes the model predicts
    confidently for few unlabeled samples get lower thresholds. The state is one long entry per training image
    of the current task: the class last predicted for it with confidence at least tau (``-1`` until then),
    updated with the fixed tau (as in the paper) from every batch's weak-view predictions, after the batch's
    thresholds are computed (the reference implementation's order). The state only changes on iterations where
    the loss runs (not during the schedule's ``warmup``). The thresholds follow the paper's formula at every
    step; the reference implementation instead leaves them unchanged while a single class holds every sample.
    Defaults from the paper: tau (``threshold``) 0.95, the convex mapping ``x / (2 - x)``, threshold warm-up on.

    Continual setting (a choice the paper, a single-task method, does not make): the state is reset at the start
    of every task, and the learning status is normalized over the current task's classes only, so the classes
    of past tasks (none of whose images are in this task's unlabeled set) do not depress it. A pseudo-label
    outside the current task's classes is accepted at the base threshold tau; a confident prediction of such a
    class is stored like any other, which takes the sample out of the unused count but adds to no in-task
    class's learning effect.
    """

    name = "flexmatch"
    mapping: str = param(
        "convex",
        help="mapping of the normalized learning effect: convex x/(2-x), linear x or concave ln(x+1)/ln2",
        validator=one_of(*MAPPINGS),
    )
    threshold_warmup: bool = param(
        True, help="normalize by at least the number of unused unlabeled samples (thresholds rise from zero)"
    )

    def __attrs_post_init__(self) -> None:
        self.predictions: Tensor | None = None
        self.predictions_task: int | None = None

    @hookimpl
    def before_task(self, task: Task) -> None:
        """Start the task with every training image unused."""
        self._reset(task)

    def _reset(self, task: Task) -> Tensor:
        self.predictions = torch.full((len(task),), UNUSED, dtype=torch.long)
        self.predictions_task = task.id
        return self.predictions

    def _task_predictions(self, task: Task) -> Tensor:
        """The stored predictions of ``task``, reset first if the state is missing or belongs to another task."""
        if self.predictions is None or self.predictions_task != task.id or len(self.predictions) != len(task):
            return self._reset(task)
        return self.predictions

    def thresholds(self, probs: Tensor, batch: SemiBatch, ctx: RunContext) -> Tensor:
        """Each row's class-wise threshold (of its most probable class) from the stored learning status; then the
        batch's confident predictions (at least tau) are recorded for later iterations."""
        predictions = self._task_predictions(ctx.task)
        per_class = class_thresholds(
            predictions, ctx.task.classes, probs.shape[1], self.threshold, self.mapping, self.threshold_warmup
        )
        record_confident(predictions, batch.u_index, probs, self.threshold)
        return per_class.to(probs.device)[probs.max(dim=1).indices]

    def state_dict(self) -> dict[str, Any]:
        """The per-sample stored predictions and the id of the task they belong to."""
        return {"predictions": self.predictions, "task": self.predictions_task}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the stored predictions; a mismatch with the running task resets them when next used."""
        predictions = state["predictions"]
        self.predictions = None if predictions is None else predictions.clone().long()
        self.predictions_task = state["task"]
