"""SoftTeacher's pseudo-boxes: the teacher's detections filtered by score, moved to the student's view, and the
box-jittering uncertainty that decides which of them train the regression."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from sscl_plugin_detection import geometry
from sscl_plugin_detection.views import View


def select(detections: dict[str, Tensor], threshold: float) -> dict[str, Tensor]:
    """The detections whose score is above ``threshold`` (boxes, labels, scores)."""
    keep = detections["scores"] > threshold
    return {key: value[keep] for key, value in detections.items()}


def move(targets: dict[str, Tensor], source: View, target: View) -> dict[str, Tensor]:
    """``targets``' boxes moved from the view ``source`` to the view ``target`` (T_target inv(T_source), corners'
    bounding box, clipped), dropping boxes under a pixel; other fields follow the boxes kept."""
    boxes = geometry.transform_boxes(targets["boxes"], geometry.between(target.matrix, source.matrix), target.size)
    keep = geometry.big_enough(boxes)
    return {key: (boxes if key == "boxes" else value)[keep] for key, value in targets.items()}


def jitter(boxes: Tensor, copies: int, sigma: float, generator: torch.Generator) -> Tensor:
    """``copies`` jittered versions of each box (N, copies, 4): every coordinate moved by a Gaussian offset of
    standard deviation ``sigma`` times the box's width (x) or height (y)."""
    sizes = torch.stack([boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]], dim=1).repeat(1, 2)
    noise = torch.randn((len(boxes), copies, 4), generator=generator).to(boxes.device, boxes.dtype)
    return boxes[:, None, :] + noise * sigma * sizes[:, None, :]


def spread(refined: Tensor, boxes: Tensor) -> Tensor:
    """The uncertainty of each box (N,): the standard deviation of its refined jittered copies (N, copies, 4)
    divided by the box's width or height (at least 1 pixel), averaged over the 4 coordinates."""
    sizes = torch.stack([boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]], dim=1).clamp_min(1.0).repeat(1, 2)
    return (refined.std(dim=1) / sizes).mean(dim=1)


def box_uncertainty(
    boxes: Tensor,
    labels: Tensor,
    refine: Callable[[Tensor, Tensor], Tensor],
    copies: int,
    sigma: float,
    generator: torch.Generator,
) -> Tensor:
    """The jittering uncertainty of ``boxes`` with classes ``labels``: ``refine(jittered (M, 4), labels (M,))``
    is the teacher's box head refining the jittered copies."""
    if len(boxes) == 0:
        return boxes.new_zeros(0)
    jittered = jitter(boxes, copies, sigma, generator)
    refined = refine(jittered.reshape(-1, 4), labels.repeat_interleave(copies))
    return spread(refined.reshape(len(boxes), copies, 4), boxes)
