"""The parts of torchvision's Faster R-CNN that SoftTeacher drives one by one: features, proposals, the RoI
head's predictions on given boxes, its refinement of boxes, and the weighted classification loss."""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models.detection import FasterRCNN


def is_faster_rcnn(detector: nn.Module) -> bool:
    """Whether ``detector`` has Faster R-CNN's RoI head parts (what background weighting and jittering need)."""
    return isinstance(detector, FasterRCNN)


def features(detector: FasterRCNN, images: list[Tensor], targets: list[dict[str, Tensor]] | None = None):
    """The normalized batch, its targets and the backbone's feature maps."""
    batch, targets = detector.transform(images, targets)
    maps = detector.backbone(batch.tensors)
    if isinstance(maps, Tensor):
        maps = OrderedDict([("0", maps)])
    return batch, targets, maps


def predict(detector: FasterRCNN, maps: dict[str, Tensor], boxes: list[Tensor], sizes: list[tuple[int, int]]):
    """The RoI head's class logits and box deltas for ``boxes`` (one tensor per image)."""
    heads = detector.roi_heads
    pooled = heads.box_head(heads.box_roi_pool(maps, boxes, sizes))
    return heads.box_predictor(pooled)


def refine(
    detector: FasterRCNN, maps: dict[str, Tensor], boxes: Tensor, labels: Tensor, size: tuple[int, int]
) -> Tensor:
    """``boxes`` (M, 4) of one image refined by the box head's deltas of their class ``labels``."""
    _logits, deltas = predict(detector, maps, [boxes], [size])
    deltas = deltas.reshape(len(boxes), -1, 4)[torch.arange(len(boxes), device=boxes.device), labels]
    return detector.roi_heads.box_coder.decode_single(deltas, boxes)


def background_scores(detector: FasterRCNN, maps: dict[str, Tensor], boxes: list[Tensor], sizes) -> Tensor:
    """The detector's background probability of each box (all images' boxes in order)."""
    logits, _deltas = predict(detector, maps, boxes, sizes)
    return torch.softmax(logits, dim=1)[:, 0]


def weighted_classification_loss(logits: Tensor, labels: Tensor, weights: Tensor) -> Tensor:
    """``sum(weights * cross_entropy) / max(sum(weights), 1)`` (SoftTeacher's soft-teacher classification loss,
    with the original's averaging factor)."""
    per_box = F.cross_entropy(logits, labels, reduction="none")
    return (weights * per_box).sum() / weights.sum().clamp_min(1.0)
