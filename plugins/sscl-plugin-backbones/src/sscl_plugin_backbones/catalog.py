"""The backbones this distribution registers, in the order ``sscl list backbones`` shows them."""

from __future__ import annotations

from sscl_plugin_backbones.attention_resnet import CBAMResNet18, SENet18
from sscl_plugin_backbones.inception import InceptionV3
from sscl_plugin_backbones.lenet import LeNet
from sscl_plugin_backbones.mobilenet import MobileNetV2
from sscl_plugin_backbones.residual_attention import ResidualAttention92
from sscl_plugin_backbones.resnet import ResNet18, ResNet34, ResNet50
from sscl_plugin_backbones.resnext import ResNeXt29
from sscl_plugin_backbones.sized import SizedBackbone
from sscl_plugin_backbones.small_cnn import SmallCNN
from sscl_plugin_backbones.vgg import VGG16
from sscl_plugin_backbones.wide_resnet import WideResNet28x2

BACKBONES: tuple[type[SizedBackbone], ...] = (
    LeNet,
    SmallCNN,
    ResNet18,
    ResNet34,
    ResNet50,
    WideResNet28x2,
    MobileNetV2,
    ResNeXt29,
    InceptionV3,
    SENet18,
    CBAMResNet18,
    ResidualAttention92,
    VGG16,
)
"""Every backbone component class of this plugin."""
