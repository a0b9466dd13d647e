"""Backbones (feature extractors) and the classifier model the trainer builds from one."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn

from sscl_core.components import component


@component
class Backbone:
    """Base class of backbone components: a factory for a feature extractor.

    ``build(input_shape)`` returns an ``nn.Module`` that maps images (N, C, H, W) to features (N, F) and has
    an integer attribute ``out_features`` (F). This is the one interface methods use for feature access.
    """

    name: ClassVar[str]

    def build(self, input_shape: tuple[int, int, int]) -> nn.Module:
        """A new, freshly initialized feature extractor for images of ``input_shape`` (C, H, W)."""
        raise NotImplementedError


class ClassifierModel(nn.Module):
    """A feature extractor and a linear head over all classes of the stream."""

    def __init__(self, backbone: nn.Module, num_classes: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(int(backbone.out_features), num_classes)

    def features(self, x: Tensor) -> Tensor:
        """Backbone features (N, F)."""
        return self.backbone(x)

    def forward(self, x: Tensor) -> Tensor:
        """Logits over all classes (N, num_classes)."""
        return self.head(self.backbone(x))


def count_parameters(model: nn.Module) -> int:
    """Number of parameters of ``model``."""
    return sum(p.numel() for p in model.parameters())


def masked_logits(logits: Tensor, classes: list[int] | tuple[int, ...]) -> Tensor:
    """``logits`` with every class outside ``classes`` set to -inf (for task-IL and class-IL evaluation)."""
    mask = torch.full((logits.shape[-1],), float("-inf"), device=logits.device, dtype=logits.dtype)
    mask[list(classes)] = 0.0
    return logits + mask
