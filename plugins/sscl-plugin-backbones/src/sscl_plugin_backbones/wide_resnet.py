"""``wrn-28-2``: the wide residual network of depth 28 and width 2 (Zagoruyko and Komodakis 2016)."""

from __future__ import annotations

from torch import nn

from sscl_core import component
from sscl_plugin_backbones.blocks import PooledFeatures, PreActBlock, init_weights
from sscl_plugin_backbones.sized import SizedBackbone

DEPTH = 28
"""Depth of the network, 6n + 4 for n pre-activation blocks per stage (here n = 4)."""
WIDEN_FACTOR = 2
"""Channel multiplier over the plain ResNet's 16, 32, 64 channels."""


@component
class WideResNet28x2(SizedBackbone):
    """WRN-28-2, the usual semi-supervised learning backbone (128 features).

    A 3x3 stem with 16 channels, three stages of four
    pre-activation blocks with 32, 64, 128 channels (strides 1, 2, 2), BN-ReLU, global pooling (128 features)."""

    name = "wrn-28-2"
    min_size = 8

    def create(self, input_shape: tuple[int, int, int]) -> nn.Module:
        """The network for images of ``input_shape``."""
        blocks_per_stage = (DEPTH - 4) // 6
        widths = [16 * WIDEN_FACTOR * 2**stage for stage in range(3)]
        layers: list[nn.Module] = [nn.Conv2d(input_shape[0], 16, 3, padding=1, bias=False)]
        in_channels = 16
        for stage, width in enumerate(widths):
            for index in range(blocks_per_stage):
                stride = 2 if stage > 0 and index == 0 else 1
                layers.append(PreActBlock(in_channels, width, stride))
                in_channels = width
        layers += [nn.BatchNorm2d(in_channels), nn.ReLU(inplace=True)]
        network = PooledFeatures(nn.Sequential(*layers), in_channels)
        init_weights(network)
        return network
