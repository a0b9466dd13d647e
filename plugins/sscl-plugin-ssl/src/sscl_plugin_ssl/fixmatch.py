"""FixMatch: cross-entropy of the strong view against the confident hard pseudo-labels of the weak view."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from sscl_core import RunContext, SemiBatch, UnlabeledLoss, component, param
from sscl_core.api.validators import probability
from sscl_core.library.pseudo_labels import confident_pseudo_labels, masked_mean, predict_without_grad


def fixmatch_loss(strong_logits: Tensor, pseudo_labels: Tensor, mask: Tensor) -> Tensor:
    """The mean over all rows of ``mask * cross_entropy(strong_logits, pseudo_labels)``.

    Masked rows count as zeros in the mean (the batch size, not the number of confident rows, divides), as in
    the FixMatch paper's unlabeled loss.
    """
    return masked_mean(F.cross_entropy(strong_logits, pseudo_labels, reduction="none"), mask)


@component
class FixMatch(UnlabeledLoss):
    """FixMatch (Sohn et al., 2020): pseudo-label the weak view, train the strong view on confident labels.

    Each unlabeled image's pseudo-label is the most probable class of the model's softmax on its weak view,
    computed under no-grad; the loss ``fixmatch`` is the cross-entropy of the model's logits on the strong view
    against it, multiplied by the mask ``max probability >= threshold`` and averaged over all unlabeled rows.
    The gradient flows only through the strong branch. Subclasses change the confidence rule by overriding
    :meth:`thresholds` (FlexMatch's class-wise thresholds). Default ``threshold`` 0.95 as in the paper; the
    paper's unlabeled weight lambda_u is 1, this component's ``weight`` default.
    """

    name = "fixmatch"
    views = ("weak", "strong")
    threshold: float = param(
        0.95, help="confidence a weak-view prediction needs to become a pseudo-label (tau)", validator=probability
    )

    def thresholds(self, probs: Tensor, batch: SemiBatch, ctx: RunContext) -> Tensor | float:
        """The confidence each row of ``probs`` (the weak view's class probabilities) must reach: ``threshold``."""
        return self.threshold

    def losses(self, batch: SemiBatch, ctx: RunContext) -> dict[str, Tensor]:
        """The masked strong-view cross-entropy against the weak view's confident pseudo-labels."""
        probs = predict_without_grad(ctx, batch.u_weak)
        pseudo_labels, mask = confident_pseudo_labels(probs, self.thresholds(probs, batch, ctx))
        return {self.name: fixmatch_loss(ctx.model(batch.u_strong), pseudo_labels, mask)}
