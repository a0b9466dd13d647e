"""``senet18`` and ``cbam-resnet18``: ResNet-18 with a CIFAR stem and an attention block in every residual block."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from attrs import validators
from torch import nn
from torchvision import models

from sscl_core import component, param
from sscl_plugin_backbones.blocks import add_block_attention, cbam, cifar_stem_resnet, squeeze_excitation
from sscl_plugin_backbones.sized import SizedBackbone


@component
class AttentionResNet18(SizedBackbone):
    """torchvision's ResNet-18 with a CIFAR stem whose residual branches end in an attention block."""

    torchvision_arch = "resnet18"
    attention: ClassVar[Callable[[int, int], nn.Module]]
    """The attention block's constructor, called with the branch's channels and ``reduction``."""

    reduction: int = param(16, help="channel reduction ratio of the attention MLP", validator=validators.ge(1))

    def create(self, input_shape: tuple[int, int, int]) -> nn.Module:
        """The network for images of ``input_shape``."""
        network = cifar_stem_resnet(models.resnet18(weights=None), input_shape[0])
        return add_block_attention(network, lambda channels: type(self).attention(channels, self.reduction))


@component
class SENet18(AttentionResNet18):
    """SE-ResNet-18 (Hu et al. 2018) with a CIFAR stem: squeeze-and-excitation in every block (512 features)."""

    name = "senet18"
    attention = staticmethod(squeeze_excitation)


@component
class CBAMResNet18(AttentionResNet18):
    """ResNet-18 with CBAM (Woo et al. 2018) in every block and a CIFAR stem (512 features)."""

    name = "cbam-resnet18"
    attention = staticmethod(cbam)
