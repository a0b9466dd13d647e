"""The backbones this distribution registers, in the order ``sscl list backbones`` shows them."""

from __future__ import annotations

from sscl_plugin_backbones.resnet import ResNet18, ResNet34, ResNet50
from sscl_plugin_backbones.sized import SizedBackbone
from sscl_plugin_backbones.small_cnn import SmallCNN

BACKBONES: tuple[type[SizedBackbone], ...] = (SmallCNN, ResNet18, ResNet34, ResNet50)
"""Every backbone component class of this plugin."""
