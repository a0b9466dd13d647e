"""``small-cnn``: a few conv-BatchNorm-ReLU blocks with size-aware pooling; the default for small grey images."""

from __future__ import annotations

from typing import Any

from torch import nn

from sscl_core import component, param
from sscl_plugin_backbones.blocks import PooledFeatures, conv_bn_relu, init_weights
from sscl_plugin_backbones.sized import SizedBackbone

MAX_WIDTH = 256
"""Most channels of the first block."""

MAX_BLOCKS = 8
"""Most blocks."""

MAX_CHANNELS = 2048
"""Most channels of the last block (``width * 2 ** (blocks - 1)``); beyond that the net is no longer small."""

MAX_MIN_POOL_SIZE = 64
"""Largest ``min_pool_size`` (the largest standard image side)."""


def _between(low: int, high: int, why: str) -> Any:
    """An attrs validator accepting integers in ``low..high``; the error says why the limit exists."""

    def check(_instance: Any, attribute: Any, value: int) -> None:
        if not low <= value <= high:
            raise ValueError(f"{attribute.name} must be between {low} and {high} ({why}), got {value}")

    return check


def _last_block_fits(instance: SmallCNN, _attribute: Any, blocks: int) -> None:
    channels = instance.width * 2 ** (blocks - 1)
    if channels > MAX_CHANNELS:
        raise ValueError(
            f"width {instance.width} with {blocks} blocks gives {channels:,} channels in the last block, "
            f"more than {MAX_CHANNELS}: lower width or blocks"
        )


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

    width: int = param(
        32,
        help=f"channels of the first block (1 to {MAX_WIDTH}); each next block doubles them",
        validator=_between(1, MAX_WIDTH, "channels of the first block"),
    )
    blocks: int = param(
        3,
        help=f"number of conv-BatchNorm-ReLU blocks (1 to {MAX_BLOCKS}; the last has at most {MAX_CHANNELS} channels)",
        validator=[_between(1, MAX_BLOCKS, "each block doubles the channels"), _last_block_fits],
    )
    min_pool_size: int = param(
        4,
        help=f"pool only while the pooled feature map is at least this many pixels a side (1 to {MAX_MIN_POOL_SIZE})",
        validator=_between(1, MAX_MIN_POOL_SIZE, "pixels a side"),
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
