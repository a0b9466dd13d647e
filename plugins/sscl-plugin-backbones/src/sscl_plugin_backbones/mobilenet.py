"""``mobilenetv2``: torchvision's MobileNetV2 (Sandler et al. 2018) with a CIFAR stem."""

from __future__ import annotations

from torch import nn
from torchvision import models

from sscl_core import component
from sscl_plugin_backbones.blocks import replace_conv
from sscl_plugin_backbones.sized import SizedBackbone


@component
class MobileNetV2(SizedBackbone):
    """MobileNetV2 (torchvision) with a CIFAR stem and total stride 8 (1280 features).

    Adapted as in common CIFAR versions: stride-1 first convolution taking the input's channels, stride 1 in the
    first 24-channel block (total stride 8 instead of 32), classifier and its dropout replaced by identity (1280
    features).
    """

    name = "mobilenetv2"
    torchvision_arch = "mobilenet_v2"
    min_size = 8

    def create(self, input_shape: tuple[int, int, int]) -> nn.Module:
        """The network for images of ``input_shape``."""
        network = models.mobilenet_v2(weights=None)
        stem = network.features[0][0]
        network.features[0][0] = replace_conv(stem, in_channels=input_shape[0], stride=1)
        first_downsampling = network.features[2].conv[1][0]
        network.features[2].conv[1][0] = replace_conv(first_downsampling, stride=1)
        network.classifier = nn.Identity()
        network.out_features = int(network.last_channel)
        return network
