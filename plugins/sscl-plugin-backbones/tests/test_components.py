"""Registration, fields, input-size checks and parameter counts of the backbones."""

import pytest
import torch
from torchvision.ops import SqueezeExcitation

from sscl_core import ClassifierModel, SsclError
from sscl_core.api.components import build
from sscl_core.plugins.registry import load_registry
from sscl_plugin_backbones.attention_resnet import CBAMResNet18, SENet18
from sscl_plugin_backbones.blocks import ChannelGate, SpatialGate
from sscl_plugin_backbones.catalog import BACKBONES
from sscl_plugin_backbones.inception import InceptionV3
from sscl_plugin_backbones.lenet import LeNet
from sscl_plugin_backbones.mobilenet import MobileNetV2
from sscl_plugin_backbones.residual_attention import ResidualAttention92
from sscl_plugin_backbones.resnet import ResNet18
from sscl_plugin_backbones.small_cnn import SmallCNN
from sscl_plugin_backbones.vgg import VGG16
from sscl_plugin_backbones.wide_resnet import WideResNet28x2


def test_every_backbone_is_registered_by_this_distribution():
    registry = load_registry()
    for backbone in BACKBONES:
        assert registry.get("backbone", backbone.name) is backbone
        assert registry.distribution_of("backbone", backbone.name) == "sscl-plugin-backbones"


def test_every_backbone_documents_itself():
    for backbone in BACKBONES:
        assert backbone.__doc__
        assert backbone.min_size >= 1
        assert backbone.claimed_sizes()


PARAMETERS_AT_32PX_WITH_TEN_CLASSES = {
    "lenet": 62_028,
    "small-cnn": 94_762,
    "resnet18": 11_173_962,
    "resnet34": 21_282_122,
    "resnet50": 23_520_842,
    "wrn-28-2": 1_467_610,
    "mobilenetv2": 2_236_682,
    "resnext29-2x64d": 9_130_314,
    "inceptionv3": 21_806_058,
    "senet18": 11_263_042,
    "cbam-resnet18": 11_263_842,
    "ran-92": 2_518_506,
    "vgg16": 14_728_266,
}


@pytest.mark.parametrize("backbone", BACKBONES, ids=lambda b: b.name)
def test_parameter_counts_with_ten_class_head(backbone):
    model = ClassifierModel(backbone().build((3, 32, 32)), num_classes=10)
    assert sum(p.numel() for p in model.parameters()) == PARAMETERS_AT_32PX_WITH_TEN_CLASSES[backbone.name]


def test_published_counts_are_reproduced_where_the_layout_matches():
    def count(backbone, shape):
        return sum(p.numel() for p in ClassifierModel(backbone.build(shape), num_classes=10).parameters())

    assert round(count(ResNet18(), (3, 32, 32)) / 1e6, 1) == 11.2
    assert count(LeNet(batch_norm=False), (1, 32, 32)) == 61_706
    assert round(count(WideResNet28x2(), (3, 32, 32)) / 1e6, 1) == 1.5


@pytest.mark.parametrize("backbone", BACKBONES, ids=lambda b: b.name)
def test_rectangular_images_work(backbone):
    size = backbone.min_size
    network = backbone().build((3, size, size + 8)).eval()
    with torch.no_grad():
        assert network(torch.zeros(1, 3, size, size + 8)).shape == (1, network.out_features)


def test_resnet_has_cifar_stem():
    network = ResNet18().build((1, 28, 28))
    assert network.conv1.in_channels == 1
    assert network.conv1.kernel_size == (3, 3)
    assert network.conv1.stride == (1, 1)
    assert isinstance(network.maxpool, torch.nn.Identity)
    assert network.out_features == 512


def test_small_cnn_fields_set_width_depth_and_features():
    network = build(SmallCNN, {"width": 8, "blocks": 2}, "backbone 'small-cnn'").build((1, 8, 8))
    assert network.out_features == 16
    assert network(torch.zeros(2, 1, 8, 8)).shape == (2, 16)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in network.modules())


def test_small_cnn_does_not_pool_below_minimum_size():
    pools = [m for m in SmallCNN().build((1, 8, 8)).modules() if isinstance(m, torch.nn.MaxPool2d)]
    assert len(pools) == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"width": 0}, "width must be between 1 and 256 (channels of the first block), got 0"),
        ({"width": 100_000}, "width must be between 1 and 256"),
        ({"blocks": 40}, "blocks must be between 1 and 8 (each block doubles the channels), got 40"),
        ({"width": 256, "blocks": 5}, "width 256 with 5 blocks gives 4,096 channels in the last block"),
        ({"min_pool_size": 1000}, "min_pool_size must be between 1 and 64"),
    ],
)
def test_small_cnn_rejects_oversized_or_bad_fields_in_one_line(fields, message):
    with pytest.raises(SsclError, match="width|blocks|min_pool_size") as error:
        build(SmallCNN, fields, "backbone 'small-cnn'")
    assert str(error.value).startswith("backbone 'small-cnn': ") and message in str(error.value)
    assert "\n" not in str(error.value)


def test_small_cnn_accepts_the_largest_allowed_sizes():
    assert build(SmallCNN, {"width": 256, "blocks": 4, "min_pool_size": 64}, "backbone 'small-cnn'").blocks == 4
    assert build(SmallCNN, {"width": 8, "blocks": 8}, "backbone 'small-cnn'").build((1, 8, 8)).out_features == 1024


@pytest.mark.parametrize(
    ("backbone", "shape", "minimum"), [(SmallCNN, (1, 4, 4), 8), (ResidualAttention92, (1, 28, 28), 32)]
)
def test_too_small_input_is_one_line_error_naming_the_minimum(backbone, shape, minimum):
    with pytest.raises(SsclError, match=f"'{backbone.name}' needs images of at least {minimum}x{minimum}") as error:
        backbone().build(shape)
    assert "\n" not in str(error.value)


def test_ran_92_claims_only_32_px_and_up():
    assert ResidualAttention92.claimed_sizes() == (32, 64)


def test_attention_resnets_put_one_attention_block_in_every_residual_block():
    senet = SENet18().build((3, 32, 32))
    cbam = CBAMResNet18().build((3, 32, 32))
    assert sum(isinstance(m, SqueezeExcitation) for m in senet.modules()) == 8
    assert sum(isinstance(m, ChannelGate) for m in cbam.modules()) == 8
    assert sum(isinstance(m, SpatialGate) for m in cbam.modules()) == 8


def test_mobilenetv2_downsamples_by_eight():
    network = MobileNetV2().build((3, 32, 32)).eval()
    with torch.no_grad():
        assert network.features(torch.zeros(1, 3, 32, 32)).shape[-2:] == (4, 4)


def test_vgg16_drops_pools_that_would_shrink_a_one_pixel_map():
    pools = [m for m in VGG16().build((1, 8, 8)).modules() if isinstance(m, torch.nn.MaxPool2d)]
    assert len(pools) == 3


def test_inceptionv3_keeps_small_images_until_its_reductions():
    network = InceptionV3().build((3, 8, 8)).eval()
    assert network.Conv2d_1a_3x3.conv.stride == (1, 1)
    with torch.no_grad():
        assert network(torch.zeros(1, 3, 8, 8)).shape == (1, 2048)


def test_each_build_is_freshly_initialized():
    first, second = ResNet18().build((3, 8, 8)), ResNet18().build((3, 8, 8))
    assert not torch.equal(first.conv1.weight, second.conv1.weight)
