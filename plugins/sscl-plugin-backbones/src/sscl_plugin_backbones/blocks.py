"""Pieces shared by the backbones: initialization, pooled feature networks, CIFAR-stem adaptation of
torchvision networks, attention blocks (squeeze-and-excitation, CBAM) and residual blocks."""

from __future__ import annotations

from torch import Tensor, nn
from torchvision.models import ResNet


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
