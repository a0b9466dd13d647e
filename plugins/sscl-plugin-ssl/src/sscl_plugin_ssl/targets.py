"""What the unlabeled losses share: the model's predictions on the unlabeled views and turning them into targets."""

from __future__ import annotations

import torch
from torch import Tensor

from sscl_core import RunContext


def predict_without_grad(ctx: RunContext, images: Tensor) -> Tensor:
    """Class probabilities of ``images`` under no-grad (the targets' side: no gradient flows through them)."""
    with torch.no_grad():
        return torch.softmax(ctx.model(images), dim=1)


def confident_pseudo_labels(probs: Tensor, threshold: Tensor | float) -> tuple[Tensor, Tensor]:
    """Hard pseudo-labels (the most probable class) and the float mask of rows whose highest probability is
    at least ``threshold`` (a number, or one threshold per row)."""
    confidence, labels = probs.max(dim=1)
    return labels, (confidence >= threshold).to(probs.dtype)


def sharpen(probs: Tensor, temperature: float) -> Tensor:
    """Each row raised to ``1 / temperature`` and renormalized (temperature 1: unchanged; towards 0: one-hot)."""
    powered = probs.clamp_min(1e-12) ** (1.0 / temperature)
    return powered / powered.sum(dim=1, keepdim=True)


def masked_mean(per_sample: Tensor, mask: Tensor) -> Tensor:
    """The mean of ``per_sample * mask`` over all rows (masked rows count as zeros, as FixMatch averages)."""
    return (per_sample * mask).mean()
