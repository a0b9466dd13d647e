"""Pieces shared by the backbones.

Initialization, pooled feature networks, CIFAR-stem adaptation of torchvision networks, attention blocks
(squeeze-and-excitation, CBAM) and residual blocks.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torchvision.models import ResNet
from torchvision.models.resnet import Bottleneck
from torchvision.ops import SqueezeExcitation


def init_weights(module: nn.Module) -> None:
    """Initialize convolutions (He, fan-out), normalization layers (weight 1, bias 0) and linear layers."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d):
            nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu")
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(layer.weight)
            nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.Linear):
            nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1) -> nn.Sequential:
    """A same-padded convolution without bias, then BatchNorm and ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class PooledFeatures(nn.Module):
    """A convolutional body followed by global average pooling: images (N, C, H, W) -> features (N, F)."""

    def __init__(self, body: nn.Module, out_features: int) -> None:
        super().__init__()
        self.body = body
        self.out_features = int(out_features)

    def forward(self, images: Tensor) -> Tensor:
        """Features (N, out_features): the body's feature maps averaged over space."""
        return self.body(images).mean(dim=(2, 3))


def replace_conv(
    conv: nn.Conv2d, *, in_channels: int | None = None, stride: int | None = None, padding: int | None = None
) -> nn.Conv2d:
    """A freshly initialized copy of ``conv``'s layout with another input channel count, stride or padding."""
    new = nn.Conv2d(
        conv.in_channels if in_channels is None else in_channels,
        conv.out_channels,
        conv.kernel_size,
        stride=conv.stride if stride is None else stride,
        padding=conv.padding if padding is None else padding,
        dilation=conv.dilation,
        groups=conv.groups,
        bias=conv.bias is not None,
    )
    init_weights(new)
    return new


def cifar_stem_resnet(model: ResNet, in_channels: int) -> ResNet:
    """Adapt a torchvision ResNet to small images, in place: a 3x3 stride-1 first convolution taking
    ``in_channels``, no max-pool, and the classifier replaced by identity; ``out_features`` is set."""
    model.conv1 = nn.Conv2d(in_channels, model.conv1.out_channels, 3, stride=1, padding=1, bias=False)
    init_weights(model.conv1)
    model.maxpool = nn.Identity()
    model.out_features = int(model.fc.in_features)
    model.fc = nn.Identity()
    return model


def squeeze_excitation(channels: int, reduction: int = 16) -> nn.Module:
    """Squeeze-and-excitation (Hu et al. 2018): channels rescaled by a gate computed from their spatial means."""
    return SqueezeExcitation(channels, max(1, channels // reduction))


class ChannelGate(nn.Module):
    """CBAM's channel attention: a shared two-layer MLP over average- and max-pooled channels, sigmoid gate."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.mlp = nn.Sequential(nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, channels, 1))

    def forward(self, maps: Tensor) -> Tensor:
        """``maps`` scaled per channel."""
        average = self.mlp(maps.mean(dim=(2, 3), keepdim=True))
        maximum = self.mlp(maps.amax(dim=(2, 3), keepdim=True))
        return maps * torch.sigmoid(average + maximum)


class SpatialGate(nn.Module):
    """CBAM's spatial attention: a 7x7 convolution over the channel mean and max, sigmoid gate."""

    def __init__(self, kernel_size: int = 7) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)
        self.norm = nn.BatchNorm2d(1)

    def forward(self, maps: Tensor) -> Tensor:
        """``maps`` scaled per position."""
        pooled = torch.cat([maps.mean(dim=1, keepdim=True), maps.amax(dim=1, keepdim=True)], dim=1)
        return maps * torch.sigmoid(self.norm(self.conv(pooled)))


def cbam(channels: int, reduction: int = 16) -> nn.Module:
    """Convolutional block attention module (Woo et al. 2018): channel gate, then spatial gate."""
    return nn.Sequential(ChannelGate(channels, reduction), SpatialGate())


def add_block_attention(model: ResNet, attention: Callable[[int], nn.Module]) -> ResNet:
    """Put ``attention(channels)`` at the end of every residual branch of a torchvision ResNet, in place
    (after the branch's last BatchNorm, before the addition), as SE-ResNet and CBAM-ResNet do; the whole
    network is then initialized afresh with ``init_weights``."""
    for stage in (model.layer1, model.layer2, model.layer3, model.layer4):
        for block in stage:
            if isinstance(block, Bottleneck):
                block.bn3 = nn.Sequential(block.bn3, attention(block.bn3.num_features))
            else:
                block.bn2 = nn.Sequential(block.bn2, attention(block.bn2.num_features))
    init_weights(model)
    return model


def bottleneck_stage(
    in_channels: int, planes: int, blocks: int, stride: int, groups: int = 1, base_width: int = 64
) -> nn.Sequential:
    """A stage of torchvision bottleneck blocks (grouped for ResNeXt); the first block has ``stride`` and a
    projection shortcut when needed. Output channels: ``planes * 4``."""
    out_channels = planes * Bottleneck.expansion
    projection = None
    if stride != 1 or in_channels != out_channels:
        projection = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
        )
    layers = [Bottleneck(in_channels, planes, stride, projection, groups=groups, base_width=base_width)]
    layers += [Bottleneck(out_channels, planes, groups=groups, base_width=base_width) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


def preact_projection(in_channels: int, out_channels: int, stride: int) -> nn.Conv2d | None:
    """The 1x1 shortcut projection of a pre-activation unit, or None when the shape does not change."""
    if stride != 1 or in_channels != out_channels:
        return nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)
    return None


class PreActBlock(nn.Module):
    """A pre-activation residual block (He et al. 2016, as in wide ResNets): BN-ReLU-conv3x3 twice, with a
    1x1 projection of the pre-activated input when the shape changes."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.norm2 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.projection = preact_projection(in_channels, out_channels, stride)

    def forward(self, maps: Tensor) -> Tensor:
        """The block's output maps."""
        activated = torch.relu(self.norm1(maps))
        shortcut = maps if self.projection is None else self.projection(activated)
        branch = self.conv2(torch.relu(self.norm2(self.conv1(activated))))
        return branch + shortcut


class PreActBottleneck(nn.Module):
    """A pre-activation bottleneck residual unit: BN-ReLU-conv1x1, BN-ReLU-conv3x3 (``stride``),
    BN-ReLU-conv1x1 with a quarter of ``out_channels`` inside; 1x1 projection when the shape changes."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        inner = max(1, out_channels // 4)
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, inner, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(inner)
        self.conv2 = nn.Conv2d(inner, inner, 3, stride=stride, padding=1, bias=False)
        self.norm3 = nn.BatchNorm2d(inner)
        self.conv3 = nn.Conv2d(inner, out_channels, 1, bias=False)
        self.projection = preact_projection(in_channels, out_channels, stride)

    def forward(self, maps: Tensor) -> Tensor:
        """The unit's output maps."""
        activated = torch.relu(self.norm1(maps))
        shortcut = maps if self.projection is None else self.projection(activated)
        branch = self.conv1(activated)
        branch = self.conv2(torch.relu(self.norm2(branch)))
        branch = self.conv3(torch.relu(self.norm3(branch)))
        return branch + shortcut
