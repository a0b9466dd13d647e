"""``small-cnn``: a few conv-BatchNorm-ReLU blocks with size-aware pooling; the default for small grey images."""

from __future__ import annotations

from attrs import validators
from torch import nn

from sscl_core import component, param
from sscl_plugin_backbones.blocks import PooledFeatures, conv_bn_relu, init_weights
from sscl_plugin_backbones.sized import SizedBackbone


@component
class SmallCNN(SizedBackbone):
    """Small CNN of conv-BatchNorm-ReLU blocks; the default backbone for 8 and 28 px grey images.

    Conv3x3-BatchNorm-ReLU blocks double the channels from ``width``; each is followed by 2x2 max-pooling
    while the feature map stays at least ``min_pool_size`` a side; global average pooling closes it.

    BatchNorm is what keeps it stable under SGD lr 0.03, momentum 0.9 and batch 8 (see BENCHMARKS.md).
    Features: ``width * 2 ** (blocks - 1)``.
    """

    name = "small-cnn"
    min_size = 8

    width: int = param(32, help="channels of the first block; each next block doubles them", validator=validators.ge(1))
    blocks: int = param(3, help="number of conv-BatchNorm-ReLU blocks", validator=validators.ge(1))
    min_pool_size: int = param(
        4, help="pool only while the pooled feature map is at least this many pixels a side", validator=validators.ge(1)
    )

    def create(self, input_shape: tuple[int, int, int]) -> nn.Module:
        """The network for images of ``input_shape``."""
        channels, height, width = input_shape
        layers: list[nn.Module] = []
        out_channels = channels
        for index in range(self.blocks):
            in_channels, out_channels = out_channels, self.width * 2**index
            layers.append(conv_bn_relu(in_channels, out_channels))
            if min(height, width) // 2 >= self.min_pool_size:
                layers.append(nn.MaxPool2d(2))
                height, width = height // 2, width // 2
        network = PooledFeatures(nn.Sequential(*layers), out_channels)
        init_weights(network)
        return network
