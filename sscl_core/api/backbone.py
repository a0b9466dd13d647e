"""Backbones: the feature extractors that model components build networks on."""

import functools
from collections.abc import Callable
from typing import Any, ClassVar

from torch import nn

from sscl_core.api.components import component, param
from sscl_core.api.weights import load_weights


@component
class Backbone:
    """Base class of backbone components: ``build(input_shape)`` returns an ``nn.Module`` mapping images (N, C, H, W)
    to features (N, F) with an integer ``out_features``; every subclass's ``build`` also loads ``weights`` into it."""

    name: ClassVar[str]

    weights: str | None = param(
        None,
        help="a state dict file (.pt/.pth) loaded before training, read without running code; plain, nested under "
        "state_dict/model, or prefixed (module., backbone., encoder.); head keys are skipped",
    )
    weights_prefix: str | None = param(
        None, help="prefix of the backbone's keys in the weights file (e.g. 'module.encoder_q.'); default: guessed"
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Make the subclass's own ``build`` load ``weights`` into the network it returns."""
        super().__init_subclass__(**kwargs)
        if "build" in cls.__dict__:
            cls.build = _loading_weights(cls.__dict__["build"])

    def build(self, input_shape: tuple[int, int, int]) -> nn.Module:
        """A new, freshly initialized feature extractor for images of ``input_shape`` (C, H, W)."""
        raise NotImplementedError

    @classmethod
    def weights_note(cls) -> str:
        """What ``sscl describe backbone`` says about the weights files that fit (e.g. torchvision's); empty
        when the backbone has nothing to say."""
        return ""


def _loading_weights(build: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """``build`` followed by loading ``self.weights``, done once: by the outermost ``build`` of a subclass chain."""

    @functools.wraps(build)
    def build_and_load(self: Backbone, input_shape: tuple[int, int, int]) -> nn.Module:
        network = build(self, input_shape)
        if getattr(self, "weights", None) is not None and type(self).build is build_and_load:
            load_weights(network, self.weights, self.weights_prefix, f"backbone '{self.name}' weights")
        return network

    return build_and_load


def count_parameters(model: nn.Module) -> int:
    """Number of parameters of ``model``."""
    return sum(p.numel() for p in model.parameters())
