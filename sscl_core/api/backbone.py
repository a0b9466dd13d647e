"""Backbones: the feature extractors that model components build networks on."""

from __future__ import annotations

from typing import ClassVar

from torch import nn

from sscl_core.api.components import component


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


def count_parameters(model: nn.Module) -> int:
    """Number of parameters of ``model``."""
    return sum(p.numel() for p in model.parameters())
