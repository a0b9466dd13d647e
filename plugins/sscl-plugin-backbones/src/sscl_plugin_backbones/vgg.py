"""``vgg16``: torchvision's VGG-16 layers (Simonyan and Zisserman 2015) with BatchNorm, adapted to small images."""

from __future__ import annotations

from torch import nn
from torchvision.models import vgg

from sscl_core import component, param
from sscl_plugin_backbones.blocks import PooledFeatures, init_weights, replace_conv
from sscl_plugin_backbones.sized import SizedBackbone

VGG16_LAYERS = "D"
"""torchvision's name of the VGG-16 layer configuration."""


@component
class VGG16(SizedBackbone):
    """VGG-16 (torchvision's layers) with global average pooling instead of the classifier (512 features).

    VGG-16's 13 convolutions (torchvision's layer builder) taking the input's channels; a max-pool that would
    shrink a 1-pixel map is dropped; global average pooling replaces the 4096-unit classifier (512 features),
    as in the usual CIFAR version."""

    name = "vgg16"
    torchvision_arch = "vgg16_bn"
    min_size = 8

    batch_norm: bool = param(
        True, help="BatchNorm after each convolution (VGG-16-BN); without it the net may collapse under momentum"
    )

    def create(self, input_shape: tuple[int, int, int]) -> nn.Module:
        """The network for images of ``input_shape``."""
        channels, height, width = input_shape
        layers = list(vgg.make_layers(vgg.cfgs[VGG16_LAYERS], batch_norm=self.batch_norm))
        layers[0] = replace_conv(layers[0], in_channels=channels)
        size = min(height, width)
        for index, layer in enumerate(layers):
            if isinstance(layer, nn.MaxPool2d):
                if size >= 2:
                    size //= 2
                else:
                    layers[index] = nn.Identity()
        out_channels = [layer.out_channels for layer in layers if isinstance(layer, nn.Conv2d)][-1]
        network = PooledFeatures(nn.Sequential(*layers), out_channels)
        init_weights(network)
        return network
