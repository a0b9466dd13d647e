"""UDA: consistency between the weak view's sharpened prediction and the strong view's, plus training-signal
annealing of the labeled loss."""

from __future__ import annotations

import math
from collections.abc import Callable

import attrs
import torch
import torch.nn.functional as F
from torch import Tensor

from sscl_core import RunContext, SemiBatch, UnlabeledLoss, component, hookimpl, param
from sscl_core.api.components import one_of
from sscl_core.library.pseudo_labels import confident_pseudo_labels, masked_mean

TSA_SCHEDULES: dict[str, Callable[[float], float]] = {
    "linear": lambda t: t,
    "log": lambda t: 1.0 - math.exp(-5.0 * t),
    "exp": lambda t: math.exp(5.0 * (t - 1.0)),
}
"""UDA's training-signal annealing schedules alpha_t of the training progress t in [0, 1] (paper, section 3.2):
linear ``t``, log ``1 - exp(-5 t)`` (releases the labeled signal early) and exp ``exp(5 (t - 1))`` (late)."""


def tsa_threshold(schedule: str, progress: float, num_classes: int) -> float:
    """The TSA threshold eta_t = alpha_t * (1 - 1/K) + 1/K of ``schedule`` (a key of :data:`TSA_SCHEDULES`) at
    training progress ``progress`` (t, clipped to [0, 1]) over ``num_classes`` (K) classes: 1/K at t = 0 for the
    linear and log schedules, rising to 1 at t = 1."""
    if schedule not in TSA_SCHEDULES:
        raise ValueError(f"unknown TSA schedule {schedule!r} (schedules: {', '.join(TSA_SCHEDULES)})")
    alpha = TSA_SCHEDULES[schedule](min(max(progress, 0.0), 1.0))
    return alpha * (1.0 - 1.0 / num_classes) + 1.0 / num_classes


def tsa_mask(true_class_probs: Tensor, threshold: float) -> Tensor:
    """The float mask of labeled samples whose probability of their true class is below ``threshold`` (the ones
    TSA keeps in the supervised loss; a sample at or above the threshold is left out)."""
    return (true_class_probs < threshold).to(true_class_probs.dtype)


def sharpened_targets(weak_logits: Tensor, temperature: float) -> Tensor:
    """UDA's soft targets: ``softmax(weak_logits / temperature)`` (a temperature below 1 sharpens)."""
    return torch.softmax(weak_logits / temperature, dim=1)


def confidence_mask(weak_logits: Tensor, threshold: float) -> Tensor:
    """The float mask of rows whose un-sharpened ``softmax(weak_logits)`` reaches ``threshold`` at its maximum."""
    return confident_pseudo_labels(torch.softmax(weak_logits, dim=1), threshold)[1]


def uda_loss(strong_logits: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
    """The mean over all rows of ``mask * KL(targets || softmax(strong_logits))``.

    KL is the soft-target cross-entropy minus the targets' entropy, so a prediction equal to its target costs 0
    (the gradient with respect to ``strong_logits`` is the same). Masked rows count as zeros in the mean.
    """
    kl = F.kl_div(F.log_softmax(strong_logits, dim=1), targets, reduction="none").sum(dim=1)
    return masked_mean(kl, mask)


@component
class UnsupervisedDataAugmentation(UnlabeledLoss):
    """UDA (Xie et al., 2020): match the strong view's prediction to the weak view's sharpened one.

    The targets are ``softmax(model(u_weak) / temperature)`` under no-grad; rows whose un-sharpened weak-view
    softmax stays below ``confidence_threshold`` at its maximum are masked out. The loss ``uda`` is the mean over
    all unlabeled rows of ``mask * KL(target || softmax(model(u_strong)))``; the gradient flows only through the
    strong branch. Defaults: ``temperature`` 0.4 and ``confidence_threshold`` 0.8 (the paper's sharpening
    setting, which USB's UDA configs use for every dataset) and unlabeled ``weight`` (lambda_u) 1 as in both.

    Training-signal annealing (``tsa``: ``linear``, ``log`` or ``exp``) leaves out of the supervised loss the
    labeled samples whose true-class probability has reached eta_t = alpha_t (1 - 1/K) + 1/K (see
    :func:`tsa_threshold`), where K is the stream's number of classes and t the progress within the current task
    (the schedule restarts with every task, like the learning rate). It is a ``before_iter`` hook setting
    ``batch.labeled_weight`` (multiplied into a weight another hook set), so it acts during the unlabeled loss's
    warm-up too, and costs one more no-grad forward pass of the labeled batch in training mode (batch-norm layers
    see that batch once more). The default ``none``, as in USB's UDA configs, turns it off.
    """

    name = "uda"
    views = ("weak", "strong")
    temperature: float = param(
        0.4, help="softmax temperature of the weak-view targets (below 1 sharpens)", validator=attrs.validators.gt(0.0)
    )
    confidence_threshold: float = param(
        0.8,
        help="highest un-sharpened weak-view probability a row needs to count in the loss",
        validator=[attrs.validators.ge(0.0), attrs.validators.le(1.0)],
    )
    tsa: str = param(
        "none",
        help="training-signal annealing of the labeled loss: none, linear, log or exp",
        validator=one_of("none", *TSA_SCHEDULES),
    )

    def losses(self, batch: SemiBatch, ctx: RunContext) -> dict[str, Tensor]:
        """The masked KL divergence of the strong view's prediction from the weak view's sharpened one."""
        with torch.no_grad():
            weak_logits = ctx.model(batch.u_weak)
        targets = sharpened_targets(weak_logits, self.temperature)
        mask = confidence_mask(weak_logits, self.confidence_threshold)
        return {self.name: uda_loss(ctx.model(batch.u_strong), targets, mask)}

    @hookimpl
    def before_iter(self, ctx: RunContext, batch: SemiBatch) -> None:
        """With ``tsa`` on, weigh the labeled samples by the TSA mask of the model's current predictions."""
        if self.tsa == "none":
            return
        progress = ctx.task_iter / ctx.config.train.iters_per_task
        threshold = tsa_threshold(self.tsa, progress, ctx.stream.num_classes)
        with torch.no_grad():
            probs = torch.softmax(ctx.model(batch.x), dim=1)
        mask = tsa_mask(probs.gather(1, batch.y.view(-1, 1)).squeeze(1), threshold)
        batch.labeled_weight = mask if batch.labeled_weight is None else batch.labeled_weight * mask
