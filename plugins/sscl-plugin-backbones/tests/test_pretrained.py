"""Which torchvision weights files fit: described offline, and a torchvision state dict loads where it fits."""

import pytest
import torch
from torchvision import models

from sscl_core import SsclError, cli
from sscl_core.api.components import build
from sscl_plugin_backbones.mobilenet import MobileNetV2
from sscl_plugin_backbones.resnet import ResNet18


def describe(name, capsys):
    code = cli.main(["describe", "backbone", name])
    return code, capsys.readouterr().out, ""


def test_describe_names_the_torchvision_files_and_whether_they_fit(capsys):
    code, out, _err = describe("resnet18", capsys)
    assert code == 0
    assert "ResNet18_Weights.IMAGENET1K_V1 (resnet18-f37072fd.pth) do not load as they are" in out
    assert "conv1.weight: shape [64, 3, 7, 7] in the file, [64, 3, 3, 3] here" in out
    code, out, _err = describe("mobilenetv2", capsys)
    assert code == 0 and "MobileNet_V2_Weights.IMAGENET1K_V1 (mobilenet_v2-b0353104.pth)" in out and " fit " in out
    code, out, _err = describe("small-cnn", capsys)
    assert code == 0 and "pretrained weights:" not in out


def test_a_torchvision_state_dict_loads_into_the_backbone_it_fits(tmp_path):
    torchvision_state = models.mobilenet_v2(weights=None).state_dict()
    torch.save(torchvision_state, tmp_path / "mobilenet_v2.pth")
    backbone = build(MobileNetV2, {"weights": str(tmp_path / "mobilenet_v2.pth")}, "backbone 'mobilenetv2'")
    network = backbone.build((3, 32, 32))
    for key, value in network.state_dict().items():
        assert torch.equal(value, torchvision_state[key]), key
    resnet = build(ResNet18, {"weights": str(tmp_path / "mobilenet_v2.pth")}, "backbone 'resnet18'")
    with pytest.raises(SsclError, match="does not fit this backbone"):
        resnet.build((3, 32, 32))
