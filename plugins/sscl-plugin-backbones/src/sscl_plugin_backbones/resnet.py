"""``resnet18``, ``resnet34``, ``resnet50``: torchvision's ResNets with a CIFAR stem."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from torch import nn
from torchvision import models

from sscl_core import component
from sscl_plugin_backbones.blocks import cifar_stem_resnet
from sscl_plugin_backbones.sized import SizedBackbone


@component
class TorchvisionResNet(SizedBackbone):
    """A torchvision ResNet adapted to small images: 3x3 stride-1 first convolution with the input's channel
    count, no max-pool, classifier replaced by identity (features: 512, or 2048 with bottleneck blocks)."""

    factory: ClassVar[Callable[..., models.ResNet]]
    """The torchvision constructor of the network, called with ``weights=None``."""

    def create(self, input_shape: tuple[int, int, int]) -> nn.Module:
        """The network for images of ``input_shape``."""
        return cifar_stem_resnet(type(self).factory(weights=None), input_shape[0])


@component
class ResNet18(TorchvisionResNet):
    """ResNet-18 with a CIFAR stem (about 11.17 M parameters with a 10-class head)."""

    name = "resnet18"
    torchvision_arch = "resnet18"
    factory = staticmethod(models.resnet18)


@component
class ResNet34(TorchvisionResNet):
    """ResNet-34 with a CIFAR stem (about 21.28 M parameters with a 10-class head)."""

    name = "resnet34"
    torchvision_arch = "resnet34"
    factory = staticmethod(models.resnet34)


@component
class ResNet50(TorchvisionResNet):
    """ResNet-50 (bottleneck blocks) with a CIFAR stem (about 23.52 M parameters with a 10-class head)."""

    name = "resnet50"
    torchvision_arch = "resnet50"
    factory = staticmethod(models.resnet50)
