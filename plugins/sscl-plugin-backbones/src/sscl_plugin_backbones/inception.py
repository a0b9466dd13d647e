"""``inceptionv3``: torchvision's Inception-v3 (Szegedy et al. 2016) with a stride-1 stem for small images."""

from __future__ import annotations

from torch import nn
from torchvision import models

from sscl_core import component
from sscl_plugin_backbones.blocks import replace_conv
from sscl_plugin_backbones.sized import SizedBackbone


@component
class InceptionV3(SizedBackbone):
    """Inception-v3 (torchvision) with a stride-1 stem for small images, without auxiliary classifier.

    Adapted as in common CIFAR versions: the stem's convolutions keep the size (stride 1, padding 1, the first
    takes the input's channels) and its two max-pools are dropped, so only Mixed_6a and Mixed_7a downsample (32
    px -> 15 -> 7); the final dropout and classifier are identity (2048 features). Needs at least 8 px (Mixed_7a
    then sees 3x3 maps).
    """

    name = "inceptionv3"
    torchvision_arch = "inception_v3"
    min_size = 8

    def create(self, input_shape: tuple[int, int, int]) -> nn.Module:
        """The network for images of ``input_shape``."""
        network = models.inception_v3(weights=None, aux_logits=False, init_weights=True)
        network.Conv2d_1a_3x3.conv = replace_conv(
            network.Conv2d_1a_3x3.conv, in_channels=input_shape[0], stride=1, padding=1
        )
        network.Conv2d_2a_3x3.conv = replace_conv(network.Conv2d_2a_3x3.conv, padding=1)
        network.Conv2d_4a_3x3.conv = replace_conv(network.Conv2d_4a_3x3.conv, padding=1)
        network.maxpool1 = nn.Identity()
        network.maxpool2 = nn.Identity()
        network.dropout = nn.Identity()
        network.out_features = int(network.fc.in_features)
        network.fc = nn.Identity()
        return network
