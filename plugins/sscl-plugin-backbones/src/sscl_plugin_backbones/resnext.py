"""``resnext29-2x64d``: ResNeXt-29 with cardinality 2 and bottleneck width 64 (Xie et al. 2017, CIFAR layout)."""

from __future__ import annotations

from torch import nn

from sscl_core import component
from sscl_plugin_backbones.blocks import PooledFeatures, bottleneck_stage, conv_bn_relu, init_weights
from sscl_plugin_backbones.sized import SizedBackbone

CARDINALITY = 2
"""Groups of each bottleneck's 3x3 convolution (the "2" of 2x64d)."""
BOTTLENECK_WIDTH = 64
"""Channels per group in the first stage's bottlenecks (the "64d" of 2x64d); they double per stage."""
BLOCKS_PER_STAGE = 3
"""Bottleneck blocks in each of the three stages (3 x 3 x 3 convolutions + stem + head = 29 layers)."""


@component
class ResNeXt29(SizedBackbone):
    """ResNeXt-29 2x64d for small images (1024 features).

    A 3x3 stem with 64 channels, then three stages of three grouped bottleneck blocks (torchvision's, 2 groups
    of 64 channels doubling per stage; strides 1, 2, 2) with 256, 512, 1024 output channels (1024 features)."""

    name = "resnext29-2x64d"
    min_size = 8

    def create(self, input_shape: tuple[int, int, int]) -> nn.Module:
        """The network for images of ``input_shape``."""
        layers: list[nn.Module] = [conv_bn_relu(input_shape[0], 64)]
        in_channels = 64
        for stage, planes in enumerate((64, 128, 256)):
            stride = 1 if stage == 0 else 2
            layers.append(
                bottleneck_stage(
                    in_channels, planes, BLOCKS_PER_STAGE, stride, groups=CARDINALITY, base_width=BOTTLENECK_WIDTH
                )
            )
            in_channels = planes * 4
        network = PooledFeatures(nn.Sequential(*layers), in_channels)
        init_weights(network)
        return network
