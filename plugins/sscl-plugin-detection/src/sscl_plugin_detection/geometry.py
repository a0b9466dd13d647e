"""Box geometry of the views: 3x3 matrices mapping raw image coordinates to view coordinates, and boxes moved
through them.

A point (x, y) in pixel units (continuous: the image covers [0, W] x [0, H]) maps to ``M @ (x, y, 1)``. Boxes
are (N, 4) ``x1, y1, x2, y2``; a box moves through a matrix by transforming its four corners and taking their
bounding box, then clipping to the target image. Matrices are float64 so composing them loses nothing.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def identity() -> Tensor:
    """The identity map."""
    return torch.eye(3, dtype=torch.float64)


def scaling(sx: float, sy: float) -> Tensor:
    """Scale x by ``sx`` and y by ``sy`` (a resize of an image by those factors)."""
    return torch.tensor([[sx, 0.0, 0.0], [0.0, sy, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)


def hflip(width: float) -> Tensor:
    """The horizontal flip of an image ``width`` pixels wide: x -> width - x."""
    return torch.tensor([[-1.0, 0.0, width], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)


def about_centre(
    width: float,
    height: float,
    angle: float = 0.0,
    shear_x: float = 0.0,
    shear_y: float = 0.0,
    translate_x: float = 0.0,
    translate_y: float = 0.0,
) -> Tensor:
    """Rotation by ``angle`` degrees (counter-clockwise on screen), shears by ``shear_x`` / ``shear_y`` degrees,
    all about the image centre, then a translation by (``translate_x``, ``translate_y``) pixels."""
    cx, cy = width / 2.0, height / 2.0
    a = math.radians(angle)
    rotate = torch.tensor(
        [[math.cos(a), math.sin(a), 0.0], [-math.sin(a), math.cos(a), 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64
    )
    shear = torch.tensor(
        [[1.0, math.tan(math.radians(shear_x)), 0.0], [math.tan(math.radians(shear_y)), 1.0, 0.0], [0.0, 0.0, 1.0]],
        dtype=torch.float64,
    )
    to_centre = torch.tensor([[1.0, 0.0, -cx], [0.0, 1.0, -cy], [0.0, 0.0, 1.0]], dtype=torch.float64)
    back = torch.tensor(
        [[1.0, 0.0, cx + translate_x], [0.0, 1.0, cy + translate_y], [0.0, 0.0, 1.0]], dtype=torch.float64
    )
    return back @ rotate @ shear @ to_centre


def between(to_view: Tensor, from_view: Tensor) -> Tensor:
    """The map from the view ``from_view`` records to the view ``to_view`` records (both raw -> view)."""
    return to_view.to(torch.float64) @ torch.linalg.inv(from_view.to(torch.float64))


def transform_boxes(boxes: Tensor, matrix: Tensor, size: tuple[int, int] | None = None) -> Tensor:
    """``boxes`` (N, 4) moved through ``matrix``: the bounding box of the four moved corners, clipped to ``size``
    (height, width) when given. Keeps the boxes' dtype and device."""
    if boxes.numel() == 0:
        return boxes.reshape(0, 4)
    m = matrix.to(device=boxes.device, dtype=torch.float64)
    b = boxes.to(torch.float64)
    xs = torch.stack([b[:, 0], b[:, 2], b[:, 2], b[:, 0]], dim=1)
    ys = torch.stack([b[:, 1], b[:, 1], b[:, 3], b[:, 3]], dim=1)
    corners = torch.stack([xs, ys, torch.ones_like(xs)], dim=2) @ m.T
    w = corners[..., 2:3]
    points = corners[..., :2] / w
    out = torch.cat([points.amin(dim=1), points.amax(dim=1)], dim=1)
    if size is not None:
        height, width = size
        out[:, 0::2] = out[:, 0::2].clamp(0.0, float(width))
        out[:, 1::2] = out[:, 1::2].clamp(0.0, float(height))
    return out.to(boxes.dtype)


def big_enough(boxes: Tensor, min_side: float = 1.0) -> Tensor:
    """A bool mask of the boxes whose width and height are at least ``min_side`` pixels."""
    return ((boxes[:, 2] - boxes[:, 0]) >= min_side) & ((boxes[:, 3] - boxes[:, 1]) >= min_side)
