"""Parameters and MACs come from torch's FLOP counter, for any backbone: in describe and in every run's metrics."""

import json
import math

import pytest
import torch
from torch import nn

from sscl_core import Backbone, ClassifierModel, SsclError, cli, component, testing
from sscl_core.run.cost import backbone_costs, model_cost, parse_input_shape
from sscl_plugin_cl.er import ExperienceReplay
from sscl_plugin_cl.reservoir import ReservoirPool


def tiny_mlp_cost(input_shape, classes, width=32):
    """Parameters and MACs of the conformance kit's tiny-mlp backbone with a linear head, counted by hand."""
    inputs = math.prod(input_shape)
    return {
        "parameters": inputs * width + width + width * classes + classes,
        "macs": inputs * width + width * classes,
    }


class NoisyLayer(nn.Module):
    """Adds fresh noise in every forward pass, so a cost measurement would advance the global RNG."""

    def forward(self, x):
        return x + torch.randn(x.shape)


@component
class LargeImagesOnly(Backbone):
    """Refuses images smaller than 16 px, as a backbone with a minimum size does."""

    name = "large-only"

    def build(self, input_shape):
        if input_shape[1] < 16:
            raise SsclError(f"backbone 'large-only' needs images of at least 16 px, got {input_shape[1]}")
        return testing.TinyBackbone().build(input_shape)


@component
class CountsOnRealTensors(Backbone):
    """Reads a tensor's value while building, which PyTorch's meta device cannot do."""

    name = "reads-values"

    def build(self, input_shape):
        network = testing.TinyBackbone(width=int(torch.tensor(8).item())).build(input_shape)
        assert network.layers[1].weight.device.type == "cpu"
        return network


def test_model_cost_counts_convolutions_and_matrix_products():
    module = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.Flatten(), nn.Linear(4 * 8 * 8, 5))
    measured = model_cost(module, (3, 8, 8))
    assert measured["parameters"] == 3 * 4 * 9 + 4 * 64 * 5 + 5
    assert measured["macs"] == 8 * 8 * 4 * 3 * 9 + 4 * 64 * 5


def test_model_cost_keeps_training_modes_and_random_streams():
    module = nn.Sequential(NoisyLayer(), nn.Flatten(), nn.Linear(16, 2), nn.Dropout(0.5), nn.BatchNorm1d(2))
    module.train()
    module[4].eval()  # a frozen part, as a method may keep one
    torch.manual_seed(3)
    before = torch.get_rng_state()
    assert model_cost(module, (1, 4, 4))["macs"] == 16 * 2
    assert [m.training for m in module] == [True, True, True, True, False]
    assert torch.equal(torch.get_rng_state(), before)


def test_any_backbone_gets_its_cost_at_each_shape():
    rows = backbone_costs(testing.TinyBackbone(), [(1, 8, 8), (3, 5, 4)], num_classes=4)
    assert [row["input_shape"] for row in rows] == [(1, 8, 8), (3, 5, 4)]
    for row in rows:
        assert {k: row[k] for k in ("parameters", "macs")} == tiny_mlp_cost(row["input_shape"], 4)
        assert row["out_features"] == 32
    real = model_cost(ClassifierModel(testing.TinyBackbone().build((3, 5, 4)), 4), (3, 5, 4))
    assert real == {k: rows[1][k] for k in ("parameters", "macs")}


def test_refused_shapes_carry_the_backbones_message_and_meta_failures_fall_back_to_the_cpu():
    refused, measured = backbone_costs(LargeImagesOnly(), [(1, 8, 8), (1, 16, 16)], num_classes=2)
    assert refused == {
        "input_shape": (1, 8, 8),
        "refused": "backbone 'large-only' needs images of at least 16 px, got 8",
    }
    assert measured["macs"] == tiny_mlp_cost((1, 16, 16), 2)["macs"]
    (row,) = backbone_costs(CountsOnRealTensors(), [(1, 4, 4)], num_classes=2)
    assert row["macs"] == tiny_mlp_cost((1, 4, 4), 2, width=8)["macs"]


@pytest.mark.parametrize(
    ("text", "shape"), [("3x32x32", (3, 32, 32)), ("1,28,28", (1, 28, 28)), (" 3X8x9 ", (3, 8, 9))]
)
def test_input_shape_parsing(text, shape):
    assert parse_input_shape(text) == shape


@pytest.mark.parametrize("text", ["3x32", "3x0x8", "axbxc", "3x32x32x1", "-1x8x8"])
def test_bad_input_shapes_are_refused(text):
    with pytest.raises(SsclError, match="expected CHANNELSxHEIGHTxWIDTH"):
        parse_input_shape(text)


@pytest.fixture
def kit_registry(monkeypatch):
    """The CLI sees the conformance kit's components and the two backbones above."""
    monkeypatch.setattr(cli, "load_registry", lambda: testing.make_registry(LargeImagesOnly, CountsOnRealTensors))


def cost_lines(out):
    return out.split("cost at default settings", 1)[1].strip().splitlines()[1:]


def test_describe_backbone_shows_the_cost_at_the_standard_shapes(sscl, kit_registry):
    code, out, err = sscl("describe", "backbone", "large-only")
    assert code == 0, err
    assert "linear head over 10 classes" in out
    lines = cost_lines(out)
    assert [line.split()[0] for line in lines] == ["1x8x8", "1x28x28", "3x32x32", "3x64x64"]
    assert "not supported: backbone 'large-only' needs images of at least 16 px, got 8" in lines[0]
    expected = tiny_mlp_cost((3, 32, 32), 10)
    assert f"{expected['parameters']:,} parameters" in lines[2]
    assert f"{expected['macs'] / 1e6:.1f} M MACs" in lines[2] and "32 features" in lines[2]


def test_describe_backbone_at_a_given_shape_and_head(sscl, kit_registry):
    code, out, err = sscl("describe", "backbone", "tiny-mlp", "--input-shape", "3x20x20", "--classes", "100")
    assert code == 0, err
    (line,) = cost_lines(out)
    assert line.split()[0] == "3x20x20"
    assert f"{tiny_mlp_cost((3, 20, 20), 100)['parameters']:,} parameters" in line


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("describe", "dataset", "synthetic", "--input-shape", "3x8x8"), "apply to backbones only"),
        (("describe", "backbone", "tiny-mlp", "--input-shape", "3x8"), "--input-shape: expected"),
        (("describe", "backbone", "tiny-mlp", "--classes", "0"), "--classes must be at least 1"),
    ],
)
def test_describe_cost_options_refuse_bad_input_in_one_line(sscl, kit_registry, argv, message):
    code, out, err = sscl(*argv)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and message in err, err


def test_run_metrics_hold_the_models_cost_for_the_streams_input(tmp_path):
    result = testing.run_tiny(testing.make_registry(ExperienceReplay, ReservoirPool), tmp_path, "er")
    written = json.loads((result.run_dir / "metrics.json").read_text())["model"]
    assert written == {**tiny_mlp_cost((1, 8, 8), 4), "input_shape": [1, 8, 8]}
