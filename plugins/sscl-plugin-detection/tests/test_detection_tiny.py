"""fasterrcnn-tiny (the edge-sized detector of shapes-5) and the shapes layout settings it trains on."""

import hashlib
import json
from types import SimpleNamespace

import pytest
import torch
from torchvision.models.detection import FasterRCNN

from sscl_core import SsclError
from sscl_core.api.components import build
from sscl_core.run.cost import model_cost
from sscl_plugin_detection import geometry, rcnn_parts
from sscl_plugin_detection.datasets import Shapes
from sscl_plugin_detection.models import FasterRCNNMobileNet
from sscl_plugin_detection.shapes import Layout, write_shapes
from sscl_plugin_detection.tiny import ConvBackbone, FasterRCNNTiny
from sscl_plugin_detection.views import View


def tiny(**settings):
    return build(FasterRCNNTiny, settings, "model").build(SimpleNamespace(num_classes=5), None)


def target(x):
    boxes = torch.tensor([[x, 8.0, x + 20.0, 28.0]])
    return {"boxes": boxes, "labels": torch.tensor([2]), "iscrowd": torch.tensor([0])}


def test_the_backbone_halves_the_side_per_stage_and_doubles_the_width():
    backbone = ConvBackbone(width=4, stages=3)
    assert backbone.out_channels == 16
    assert backbone(torch.rand(2, 3, 64, 48)).shape == (2, 16, 8, 6)


def test_tiny_is_a_faster_rcnn_with_the_parts_soft_teacher_drives():
    network = tiny(width=8, anchor_sizes=[10, 20], aspect_ratios=[1.0])
    assert rcnn_parts.is_faster_rcnn(network.detector)
    assert network.detector.rpn.anchor_generator.num_anchors_per_location() == [2]
    assert network.detector.roi_heads.box_predictor.cls_score.out_features == 5


def test_tiny_trains_a_step_and_overfits_one_image():
    torch.manual_seed(0)
    network = tiny(width=8).train()
    views = [View(torch.rand(3, 64, 64), geometry.identity()), View(torch.rand(3, 64, 64), geometry.hflip(64))]
    targets = [target(6.0), target(30.0)]
    optimizer = torch.optim.Adam(network.parameters(), lr=3e-3)
    first = None
    for _ in range(30):
        loss = network.loss(network(views), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        first = loss.item() if first is None else first
    assert loss.item() < 0.5 * first
    network.eval()
    with torch.no_grad():
        (found, _) = network(views)
    assert set(found) == {"boxes", "labels", "scores"}


def test_tiny_costs_far_less_than_the_mobilenet_detector():
    small = model_cost(tiny(), (3, 64, 64))
    mobile = build(FasterRCNNMobileNet, {}, "model").build(SimpleNamespace(num_classes=5), None)
    assert isinstance(mobile.detector, FasterRCNN)
    big = model_cost(mobile, (3, 64, 64))
    assert 0 < small["parameters"] < big["parameters"] / 5 and 0 < small["macs"] < big["macs"]


@pytest.mark.parametrize(("field", "value"), [("anchor_sizes", []), ("aspect_ratios", [1.0, -2.0]), ("width", 0)])
def test_bad_tiny_settings_are_refused(field, value):
    with pytest.raises(SsclError, match=field):
        build(FasterRCNNTiny, {field: value}, "model 'fasterrcnn-tiny'")


def shapes(tmp_path, **settings):
    base = {"train_images": 20, "val_count": 4, "image_size": 64, "max_image_size": 64, "cache_dir": str(tmp_path)}
    return build(Shapes, {**base, **settings}, "dataset 'shapes'")


def boxes_of(train_json):
    data = json.loads(train_json.read_text())
    per_image = {}
    for annotation in data["annotations"]:
        per_image.setdefault(annotation["image_id"], []).append(annotation["bbox"])
    return per_image


def test_separate_objects_never_overlap_and_keep_to_the_radius_and_count(tmp_path):
    train_json, _images, _val = shapes(tmp_path, separate=True, objects=3, object_radius=[0.15, 0.2]).sources()
    assert "3obj-r0.15-0.2-sep" in str(train_json)
    for boxes in boxes_of(train_json).values():
        assert 1 <= len(boxes) <= 3
        for i, (x, y, w, h) in enumerate(boxes):
            assert max(w, h) <= 2 * 0.2 * 64 + 1e-6
            for bx, by, bw, bh in boxes[i + 1 :]:
                assert not (x < bx + bw and bx < x + w and y < by + bh and by < y + h)


BEFORE_LAYOUTS = "56b686c644433f30dd49e566f577650a99727433527e1a46ab3bb3f65b93708a"
"""sha256 of the instances.json of 6 images at 64 px written by the code before layouts existed."""


def test_the_default_layout_keeps_its_files_and_draws(tmp_path):
    assert Layout().key() == ""
    default = shapes(tmp_path).sources()[0]
    assert default.parent.parent.name == "v1-64px-10cats-20-4"
    written, _images = write_shapes(tmp_path / "six", 6, 64, 10, 1)
    assert hashlib.sha256(written.read_bytes()).hexdigest() == BEFORE_LAYOUTS


def test_a_bad_radius_is_refused(tmp_path):
    with pytest.raises(SsclError, match="object_radius"):
        shapes(tmp_path, object_radius=[0.3, 0.1])
