"""Registration, fields, input-size checks and parameter counts of the backbones."""

import pytest
import torch

from sscl_core import ClassifierModel, SsclError
from sscl_core.components import build
from sscl_core.registry import load_registry
from sscl_plugin_backbones.catalog import BACKBONES
from sscl_plugin_backbones.resnet import ResNet18, ResNet34, ResNet50
from sscl_plugin_backbones.small_cnn import SmallCNN


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


@pytest.mark.parametrize(
    ("backbone", "expected"),
    [(ResNet18, 11_173_962), (ResNet34, 21_282_122), (ResNet50, 23_520_842)],
)
def test_resnet_parameter_counts_with_ten_class_head(backbone, expected):
    model = ClassifierModel(backbone().build((3, 32, 32)), num_classes=10)
    assert sum(p.numel() for p in model.parameters()) == expected


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


def test_small_cnn_rejects_bad_fields_in_one_line():
    with pytest.raises(SsclError, match="width") as error:
        build(SmallCNN, {"width": 0}, "backbone 'small-cnn'")
    assert "\n" not in str(error.value)


def test_too_small_input_is_one_line_error_naming_the_minimum():
    with pytest.raises(SsclError, match="at least 8x8") as error:
        SmallCNN().build((1, 4, 4))
    assert "\n" not in str(error.value)


def test_each_build_is_freshly_initialized():
    first, second = ResNet18().build((3, 8, 8)), ResNet18().build((3, 8, 8))
    assert not torch.equal(first.conv1.weight, second.conv1.weight)
