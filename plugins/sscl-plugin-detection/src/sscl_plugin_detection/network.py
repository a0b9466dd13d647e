"""The network a detection run trains: a torchvision detector behind the generic ``forward`` / ``loss`` pair.

In training mode ``forward`` returns the views it is given and ``loss`` runs the detector on them with the
targets moved through each view's matrix (crowd boxes and boxes with no area left dropped), so the generic
methods (``finetune``, ``er``) train a detector as they train a classifier. In eval mode ``forward`` returns the
detector's detections (``boxes``, ``labels``, ``scores`` per image, in view coordinates).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torchvision.models.detection.transform import GeneralizedRCNNTransform

from sscl_plugin_detection import geometry
from sscl_plugin_detection.views import View


class KeepSize(GeneralizedRCNNTransform):
    """torchvision's detector transform without its resize: the views own every geometric change (and record
    it), the detector only normalizes and batches."""

    def resize(self, image: Tensor, target: dict[str, Tensor] | None = None) -> tuple[Tensor, Any]:
        """The image and target as they are."""
        return image, target


def as_views(x: Any) -> list[View]:
    """Views of ``x``: a list of views as it is; images (a (N, C, H, W) tensor or a list) with identity matrices."""
    if isinstance(x, Sequence) and x and isinstance(x[0], View):
        return list(x)
    return [View(image, geometry.identity()) for image in x]


def view_target(view: View, target: dict[str, Tensor], device: torch.device) -> dict[str, Tensor]:
    """``target``'s non-crowd boxes moved into ``view`` (clipped; those under a pixel dropped) and their labels."""
    keep = ~target["iscrowd"].bool() if "iscrowd" in target else torch.ones(len(target["labels"]), dtype=torch.bool)
    boxes = geometry.transform_boxes(target["boxes"][keep].float(), view.matrix, view.size)
    big = geometry.big_enough(boxes)
    return {"boxes": boxes[big].to(device), "labels": target["labels"][keep][big].to(device)}


class DetectionNetwork(nn.Module):
    """A torchvision detector (``self.detector``) with the ``forward`` / ``loss`` of sscl's generic methods."""

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector

    def forward(self, x: Any) -> Any:
        """Training: the views of ``x`` (the loss runs the detector). Eval: the detections of each image."""
        views = as_views(x)
        if self.training:
            return views
        return self.detector([v.image for v in views])

    def loss(self, outputs: Sequence[View], targets: Sequence[dict[str, Tensor]], reduction: str = "mean") -> Tensor:
        """The sum of the detector's losses on the views ``outputs`` with ``targets`` (raw image coordinates)
        moved into them; ``reduction="none"``: one sum per image (one detector call each)."""
        device = outputs[0].image.device
        mapped = [view_target(v, t, device) for v, t in zip(outputs, targets, strict=True)]
        if reduction == "none":
            return torch.stack([self._loss([v.image], [t]) for v, t in zip(outputs, mapped, strict=True)])
        return self._loss([v.image for v in outputs], mapped)

    def _loss(self, images: list[Tensor], targets: list[dict[str, Tensor]]) -> Tensor:
        losses = self.detector(images, targets)
        return sum(losses.values())
