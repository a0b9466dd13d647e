"""``ran-92``: the Residual Attention Network with 92 layers (Wang et al. 2017), CIFAR layout for 32-px input."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional

from sscl_core import component
from sscl_plugin_backbones.blocks import PooledFeatures, PreActBottleneck, init_weights
from sscl_plugin_backbones.sized import SizedBackbone

STAGES = ((64, 1, 3), (128, 2, 2), (256, 3, 1))
"""Per stage: output channels, attention modules, downsamplings in each module's soft-mask branch."""


class SoftMaskLevel(nn.Module):
    """One level of the soft-mask branch: max-pool, a residual unit, then either a deeper level (with a skip unit
    around it and a unit after the sum) or one more unit at the bottom; upsampled back to the input size."""

    def __init__(self, channels: int, depth: int) -> None:
        super().__init__()
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.down = PreActBottleneck(channels, channels)
        self.deeper = SoftMaskLevel(channels, depth - 1) if depth > 1 else None
        self.skip = PreActBottleneck(channels, channels) if depth > 1 else None
        self.up = PreActBottleneck(channels, channels)

    def forward(self, maps: Tensor) -> Tensor:
        """Mask features at the size of ``maps``."""
        pooled = self.down(self.pool(maps))
        if self.deeper is not None and self.skip is not None:
            pooled = self.deeper(pooled) + self.skip(pooled)
        return functional.interpolate(self.up(pooled), size=maps.shape[-2:], mode="bilinear", align_corners=False)


class AttentionModule(nn.Module):
    """An attention module with p=1, t=2, r=1: a pre unit, a trunk of two units, a bottom-up top-down soft mask
    M in (0, 1), attention residual learning (1 + M) * trunk, and a post unit."""

    def __init__(self, channels: int, mask_depth: int) -> None:
        super().__init__()
        self.pre = PreActBottleneck(channels, channels)
        self.trunk = nn.Sequential(PreActBottleneck(channels, channels), PreActBottleneck(channels, channels))
        self.mask = nn.Sequential(
            SoftMaskLevel(channels, mask_depth),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 1, bias=False),
        )
        self.post = PreActBottleneck(channels, channels)

    def forward(self, maps: Tensor) -> Tensor:
        """Attention-weighted maps of the same shape."""
        maps = self.pre(maps)
        trunk = self.trunk(maps)
        return self.post((1 + torch.sigmoid(self.mask(maps))) * trunk)


@component
class ResidualAttention92(SizedBackbone):
    """Residual Attention Network Attention-92 for images of 32 px and more (256 features).

    A 3x3 stem with 32 channels; three stages, each a residual unit (stride 2
    after the first) then 1, 2, 3 attention modules at 64, 128, 256 channels whose masks go down to 4x4 at
    32 px; three final units (the first with stride 2), BN-ReLU, global pooling (256 features)."""

    name = "ran-92"
    min_size = 32

    def create(self, input_shape: tuple[int, int, int]) -> nn.Module:
        """The network for images of ``input_shape``."""
        layers: list[nn.Module] = [nn.Conv2d(input_shape[0], 32, 3, padding=1, bias=False)]
        in_channels = 32
        for stage, (channels, modules, mask_depth) in enumerate(STAGES):
            layers.append(PreActBottleneck(in_channels, channels, stride=1 if stage == 0 else 2))
            layers += [AttentionModule(channels, mask_depth) for _ in range(modules)]
            in_channels = channels
        layers += [PreActBottleneck(in_channels, in_channels, stride=2)]
        layers += [PreActBottleneck(in_channels, in_channels) for _ in range(2)]
        layers += [nn.BatchNorm2d(in_channels), nn.ReLU(inplace=True)]
        network = PooledFeatures(nn.Sequential(*layers), in_channels)
        init_weights(network)
        return network
