"""MixMatch's and UDA's soft targets: sharpening a predicted distribution."""

from __future__ import annotations

from torch import Tensor


def sharpen(probs: Tensor, temperature: float) -> Tensor:
    """Each row raised to ``1 / temperature`` and renormalized (temperature 1: unchanged; towards 0: one-hot)."""
    powered = probs.clamp_min(1e-12) ** (1.0 / temperature)
    return powered / powered.sum(dim=1, keepdim=True)
