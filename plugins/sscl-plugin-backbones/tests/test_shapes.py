"""Every backbone does a forward and backward pass at every input shape it claims."""

import pytest
import torch

from sscl_core import ClassifierModel
from sscl_plugin_backbones.catalog import BACKBONES
from sscl_plugin_backbones.sized import STANDARD_CHANNELS

CASES = [
    pytest.param(backbone, (channels, size, size), id=f"{backbone.name}-{channels}x{size}")
    for backbone in BACKBONES
    for size in backbone.claimed_sizes()
    for channels in STANDARD_CHANNELS
]


@pytest.mark.parametrize(("backbone", "shape"), CASES)
def test_forward_and_backward(backbone, shape):
    torch.manual_seed(0)
    network = backbone().build(shape)
    model = ClassifierModel(network, num_classes=3)
    model.train()
    images = torch.randn(2, *shape)
    features = model.features(images)
    assert features.shape == (2, network.out_features)
    loss = torch.nn.functional.cross_entropy(model(images), torch.tensor([0, 2]))
    loss.backward()
    assert torch.isfinite(loss)
    gradients = [p.grad for p in network.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in gradients)
    assert any(g.abs().sum() > 0 for g in gradients)


@pytest.mark.parametrize("backbone", BACKBONES, ids=lambda b: b.name)
def test_logits_are_the_head_over_the_documented_features(backbone):
    """``ClassifierModel.features`` is the one feature interface: the logits are the linear head over it."""
    torch.manual_seed(0)
    shape = (3, backbone.min_size, backbone.min_size)
    model = ClassifierModel(backbone().build(shape), num_classes=4).eval()
    images = torch.randn(2, *shape)
    with torch.no_grad():
        features = model.features(images)
        assert features.shape == (2, model.backbone.out_features) and model.head.in_features == features.shape[1]
        assert torch.allclose(model.head(features), model(images), atol=1e-5)
