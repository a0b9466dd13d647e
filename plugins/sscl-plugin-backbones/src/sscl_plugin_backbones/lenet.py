"""``lenet``: LeNet-5 (LeCun et al. 1998) with ReLU, max-pooling and optional BatchNorm, sized for small images."""

from __future__ import annotations

from torch import Tensor, nn

from sscl_core import component, param
from sscl_plugin_backbones.blocks import init_weights
from sscl_plugin_backbones.sized import SizedBackbone

MAP_SIZE = 5
"""Side of the feature map the fully connected layers read (LeNet-5's 16 x 5 x 5)."""


def conv5x5(in_channels: int, out_channels: int, padding: int, batch_norm: bool) -> list[nn.Module]:
    """A 5x5 convolution, optional BatchNorm, ReLU."""
    layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, 5, padding=padding, bias=not batch_norm)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    layers.append(nn.ReLU(inplace=True))
    return layers


class LeNetFeatures(nn.Module):
    """Two 5x5 conv layers (6 and 16 channels) with pooling, pooled to 5x5, then fully connected 120 and 84."""

    def __init__(self, channels: int, size: int, batch_norm: bool) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        padding = 0 if size >= 32 else 2
        layers += conv5x5(channels, 6, padding, batch_norm)
        size = size + 2 * padding - 4
        if size >= 2 * MAP_SIZE:
            layers.append(nn.MaxPool2d(2))
            size //= 2
        padding = 0 if size - 4 >= MAP_SIZE else 2
        layers += conv5x5(6, 16, padding, batch_norm)
        size = size + 2 * padding - 4
        if size >= 2 * MAP_SIZE:
            layers.append(nn.MaxPool2d(2))
        layers += [nn.AdaptiveAvgPool2d(MAP_SIZE), nn.Flatten()]
        self.convolutions = nn.Sequential(*layers)
        self.fully_connected = nn.Sequential(
            nn.Linear(16 * MAP_SIZE * MAP_SIZE, 120), nn.ReLU(inplace=True), nn.Linear(120, 84), nn.ReLU(inplace=True)
        )
        self.out_features = 84

    def forward(self, images: Tensor) -> Tensor:
        """Features (N, 84)."""
        return self.fully_connected(self.convolutions(images))


@component
class LeNet(SizedBackbone):
    """LeNet-5 with ReLU, max-pooling and optional BatchNorm (84 features).

    At 32 px it is exactly the classic layout, at 28 px the usual MNIST one (first convolution padded by 2);
    smaller images keep their size through padded convolutions and skip pooling. Features: 84."""

    name = "lenet"
    min_size = 8

    batch_norm: bool = param(
        True, help="BatchNorm after each convolution (without it the net may collapse under SGD momentum 0.9)"
    )

    def create(self, input_shape: tuple[int, int, int]) -> nn.Module:
        """The network for images of ``input_shape``."""
        channels, height, width = input_shape
        network = LeNetFeatures(channels, min(height, width), self.batch_norm)
        init_weights(network)
        return network
