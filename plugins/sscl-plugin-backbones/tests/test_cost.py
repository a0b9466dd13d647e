"""The cost function counts parameters and multiply-accumulates with torch's FLOP counter."""

from torch import nn

from sscl_plugin_backbones import cost
from sscl_plugin_backbones.resnet import ResNet18


def test_cost_of_one_convolution_and_linear_layer():
    module = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.Flatten(), nn.Linear(4 * 8 * 8, 5))
    measured = cost(module, (3, 8, 8))
    assert measured["parameters"] == 3 * 4 * 9 + 4 * 64 * 5 + 5
    assert measured["macs"] == 8 * 8 * 4 * 3 * 9 + 4 * 64 * 5


def test_cost_keeps_training_mode_and_works_at_one_pixel_maps():
    network = ResNet18().build((3, 8, 8))
    network.train()
    measured = cost(network, (3, 8, 8))
    assert network.training
    assert measured["parameters"] == sum(p.numel() for p in network.parameters())
    assert measured["macs"] > 0
