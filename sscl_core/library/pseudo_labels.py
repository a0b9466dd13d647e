"""Pseudo-labels from the model's own predictions: what semi-supervised losses and methods share."""

import torch
from torch import Tensor

from sscl_core.api.context import RunContext


def predict_without_grad(ctx: RunContext, images: Tensor) -> Tensor:
    """Class probabilities of ``images`` under no-grad (the targets' side: no gradient flows through them)."""
    with torch.no_grad():
        return torch.softmax(ctx.model(images), dim=1)


def confident_pseudo_labels(probs: Tensor, threshold: Tensor | float) -> tuple[Tensor, Tensor]:
    """Hard pseudo-labels (the most probable class) and the float mask of rows whose highest probability is
    at least ``threshold`` (a number, or one threshold per row)."""
    confidence, labels = probs.max(dim=1)
    return labels, (confidence >= threshold).to(probs.dtype)


def masked_mean(per_sample: Tensor, mask: Tensor) -> Tensor:
    """The mean of ``per_sample * mask`` over all rows (masked rows count as zeros, as FixMatch averages)."""
    return (per_sample * mask).mean()
