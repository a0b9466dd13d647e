"""SoftTeacher's mechanics, each on hand-built inputs: the EMA formula, the score thresholds, the jittering
filter and the background weights."""

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from sscl_core.api.batch import SemiBatch
from sscl_core.api.components import build
from sscl_plugin_detection import geometry, pseudo_boxes, rcnn_parts
from sscl_plugin_detection.models import FasterRCNNMobileNet
from sscl_plugin_detection.soft_teacher import SoftTeacher
from sscl_plugin_detection.teacher import ema_update, frozen_copy
from sscl_plugin_detection.views import View

SMALL = {
    "rpn_pre_nms_train": 50,
    "rpn_post_nms_train": 20,
    "rpn_pre_nms_test": 50,
    "rpn_post_nms_test": 20,
    "rpn_batch": 16,
    "box_batch": 16,
}


def network():
    torch.manual_seed(0)
    model = build(FasterRCNNMobileNet, SMALL, "model")
    return model.build(SimpleNamespace(num_classes=5), None)


def soft_teacher(**settings):
    loss = build(SoftTeacher, settings, "unlabeled")
    student = network()
    loss.before_run(SimpleNamespace(model=student))
    return loss, student


def test_teacher_is_the_exact_ema_of_the_student():
    student = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    teacher = frozen_copy(student)
    with torch.no_grad():
        for p in student.parameters():
            p.add_(torch.randn(p.shape))
    student(torch.randn(8, 3))
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    ema_update(teacher, student, 0.9)
    for key, value in teacher.state_dict().items():
        s = student.state_dict()[key]
        expected = s if not value.is_floating_point() else 0.9 * before[key] + 0.1 * s
        assert torch.allclose(value, expected, rtol=1e-6, atol=1e-7) and value.dtype == expected.dtype, key
    assert int(teacher[1].num_batches_tracked) == 1 and not teacher.training


def test_the_component_updates_its_teacher_after_every_iteration():
    loss, student = soft_teacher(momentum=0.5)
    with torch.no_grad():
        for p in student.parameters():
            p.add_(1.0)
    old = [p.clone() for p in loss.teacher.parameters()]
    loss.after_iter(SimpleNamespace(model=student))
    for t, o, s in zip(loss.teacher.parameters(), old, student.parameters(), strict=True):
        assert torch.allclose(t, 0.5 * o + 0.5 * s, rtol=1e-6, atol=1e-7)
    again, _ = soft_teacher()
    again.load_state_dict(loss.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(again.teacher.parameters(), loss.teacher.parameters(), strict=True))


def hand_built(loss, monkeypatch):
    """Make the teacher's RoI head return four detections with scores 0.95, 0.7, 0.4 and 0.91."""
    found = {
        "boxes": torch.tensor(
            [[2.0, 2.0, 20.0, 20.0], [30.0, 30.0, 50.0, 60.0], [5.0, 40.0, 15.0, 50.0], [40.0, 2.0, 60.0, 12.0]]
        ),
        "labels": torch.tensor([1, 2, 3, 4]),
        "scores": torch.tensor([0.95, 0.7, 0.4, 0.91]),
    }
    monkeypatch.setattr(loss.teacher.detector.roi_heads, "forward", lambda *args, **kw: ([found], {}))
    return found


def views(matrix=None):
    image = torch.rand(3, 64, 64)
    weak = View(image, geometry.identity())
    strong = View(image, geometry.identity() if matrix is None else matrix)
    return [weak], [strong]


def test_thresholds_select_the_right_boxes(monkeypatch):
    loss, _ = soft_teacher(box_jitter=False)
    found = hand_built(loss, monkeypatch)
    weak, strong = views()
    cls_targets, reg_targets, _ = loss.pseudo_targets(weak, strong, torch.Generator().manual_seed(0))
    assert cls_targets[0]["labels"].tolist() == [1, 4]
    assert reg_targets[0]["labels"].tolist() == [1, 2, 4]
    assert torch.equal(reg_targets[0]["boxes"], found["boxes"][[0, 1, 3]])


def test_pseudo_boxes_move_to_the_strong_view(monkeypatch):
    loss, _ = soft_teacher(box_jitter=False)
    found = hand_built(loss, monkeypatch)
    weak, strong = views(geometry.hflip(64))
    cls_targets, _, _ = loss.pseudo_targets(weak, strong, torch.Generator().manual_seed(0))
    assert (
        cls_targets[0]["boxes"].tolist()
        == geometry.transform_boxes(found["boxes"][[0, 3]], geometry.hflip(64)).tolist()
    )


@pytest.mark.parametrize(("refined", "kept"), [("jittered", []), ("snapped", [1, 2, 4])])
def test_jittered_boxes_with_high_spread_get_no_regression_loss(monkeypatch, refined, kept):
    loss, _ = soft_teacher()
    found = hand_built(loss, monkeypatch)

    def refine(detector, maps, boxes, labels, size):
        if refined == "jittered":
            return boxes
        return found["boxes"][labels - 1]

    monkeypatch.setattr(rcnn_parts, "refine", refine)
    weak, strong = views()
    cls_targets, reg_targets, _ = loss.pseudo_targets(weak, strong, torch.Generator().manual_seed(0))
    assert reg_targets[0]["labels"].tolist() == kept
    assert cls_targets[0]["labels"].tolist() == [1, 4], "jittering changes only the regression targets"


def test_spread_is_std_over_size_averaged_over_coordinates():
    boxes = torch.tensor([[0.0, 0.0, 10.0, 20.0]])
    refined = torch.tensor([[[0.0, 0.0, 10.0, 20.0], [2.0, 4.0, 12.0, 24.0]]])
    std = torch.tensor(2.0).sqrt()
    assert torch.allclose(pseudo_boxes.spread(refined, boxes), (std / 10 + std * 2 / 20 + std / 10 + std * 2 / 20) / 4)
    jittered = pseudo_boxes.jitter(
        torch.tensor([[0.0, 0.0, 100.0, 100.0]]), 4000, 0.06, torch.Generator().manual_seed(0)
    )
    assert abs(float(jittered.std(dim=1).mean()) - 6.0) < 0.3


def test_background_weights_equal_the_teachers_background_scores(monkeypatch):
    loss, student = soft_teacher(box_jitter=False)
    hand_built(loss, monkeypatch)
    student.train()
    weak, strong = views(geometry.about_centre(64, 64, translate_x=4.0))
    recorded = {}
    sample = student.detector.roi_heads.select_training_samples

    def select_and_record(proposals, targets):
        out = sample(proposals, targets)
        recorded.setdefault("proposals", out[0])
        return out

    def weighted(logits, labels, weights):
        recorded.update(labels=labels, weights=weights)
        return logits.sum() * 0

    monkeypatch.setattr(student.detector.roi_heads, "select_training_samples", select_and_record)
    monkeypatch.setattr(rcnn_parts, "weighted_classification_loss", weighted)
    batch = SemiBatch(x=None, y=None, index=None, task_id=0, x_raw=None, u_weak=weak, u_strong=strong)
    loss.losses(batch, SimpleNamespace(model=student, generator=torch.Generator().manual_seed(0)))
    back = geometry.between(weak[0].matrix, strong[0].matrix)
    moved = geometry.transform_boxes(recorded["proposals"][0], back, weak[0].size)
    with torch.no_grad():
        teacher = loss.teacher.detector
        batch_t, _, maps = rcnn_parts.features(teacher, [weak[0].image])
        logits, _ = rcnn_parts.predict(teacher, maps, [moved], batch_t.image_sizes)
        background = torch.softmax(logits, dim=1)[:, 0]
    negative = recorded["labels"] == 0
    assert negative.any() and (~negative).any()
    assert torch.allclose(recorded["weights"][negative], background[negative])
    assert torch.equal(recorded["weights"][~negative], torch.ones(int((~negative).sum())))


def test_weighted_classification_loss_is_the_weighted_sum_over_the_weights():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    labels = torch.tensor([0, 1, 0])
    weights = torch.tensor([1.0, 0.5, 0.25])
    ce = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    expected = (ce * weights).sum() / max(float(weights.sum()), 1.0)
    assert torch.allclose(rcnn_parts.weighted_classification_loss(logits, labels, weights), expected)
