"""The views of detection images: weak (random resize and horizontal flip), strong (weak, one colour operation,
one geometric operation, random erasing) and test (the cached image as it is).

Each view records its 3x3 matrix from raw (cached) image coordinates to view coordinates
(:mod:`sscl_plugin_detection.geometry`); the image is resampled once through that matrix, so a box moved
through the matrix lands exactly on the object in the view. Colour operations are those of the datasets
plugin's strong view (:mod:`sscl_plugin_datasets.ops`) plus colour saturation; they run after the
resampling. Random numbers come from the generator the trainer passes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs
import torch
import torch.nn.functional as F
from torch import Tensor

from sscl_plugin_datasets import ops
from sscl_plugin_detection import geometry


@attrs.define(eq=False)
class View:
    """One view of an image: float (C, H, W) pixels in [0, 1] and the matrix raw -> view coordinates."""

    image: Tensor
    matrix: Tensor

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the view."""
        return int(self.image.shape[1]), int(self.image.shape[2])


def colour(images: Tensor, factor: Tensor) -> Tensor:
    """Blend with the grey image: below 1 less saturated, above 1 more (PIL's ImageEnhance.Color)."""
    if images.shape[1] != 3:
        return images
    weights = ops.channel_constants(ops.GREY_WEIGHTS, images.device)
    grey = (images * weights).sum(dim=1, keepdim=True).expand_as(images)
    return ops.blend(images, grey, factor)


COLOUR_OPS: tuple[tuple[str, float, float, Callable[[Tensor, Tensor], Tensor]], ...] = (
    ("identity", 0.0, 0.0, lambda images, _value: images),
    ("autocontrast", 0.0, 0.0, ops.autocontrast),
    ("equalize", 0.0, 0.0, ops.equalize),
    ("solarize", 0.5, 1.0, ops.solarize),
    ("color", 0.1, 1.9, colour),
    ("contrast", 0.1, 1.9, ops.contrast),
    ("brightness", 0.1, 1.9, ops.brightness),
    ("sharpness", 0.1, 1.9, ops.sharpness),
    ("posterize", 4.0, 8.999, ops.posterize),
)
"""The strong view's colour operations with their value ranges (one is drawn per image)."""


def warp(image: Tensor, matrix: Tensor, size: tuple[int, int]) -> Tensor:
    """``image`` (C, H, W) resampled (bilinear) through ``matrix`` into a (C, *size) image; outside is 0."""
    height, width = size
    src_h, src_w = image.shape[1:]
    back = torch.linalg.inv(matrix).to(torch.float32).to(image.device)
    ys, xs = torch.meshgrid(
        torch.arange(height, device=image.device, dtype=torch.float32) + 0.5,
        torch.arange(width, device=image.device, dtype=torch.float32) + 0.5,
        indexing="ij",
    )
    points = torch.stack([xs, ys, torch.ones_like(xs)], dim=-1) @ back.T
    grid = torch.stack([2.0 * points[..., 0] / src_w - 1.0, 2.0 * points[..., 1] / src_h - 1.0], dim=-1)
    return F.grid_sample(image[None], grid[None], mode="bilinear", padding_mode="zeros", align_corners=False)[0]


def _uniform(generator: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=generator))


@attrs.define
class DetectionViews:
    """The stream's transforms for lists of uint8 (C, H, W) images of any sizes; each returns a list of views."""

    scale_range: tuple[float, float] = (0.75, 1.25)
    flip: bool = True
    translate: float = 0.1
    rotate: float = 30.0
    shear: float = 30.0
    max_erasures: int = 5
    max_erase_area: float = 0.2

    def _weak_matrix(self, image: Tensor, generator: torch.Generator) -> tuple[Tensor, tuple[int, int]]:
        height, width = image.shape[1:]
        scale = _uniform(generator, *self.scale_range)
        size = (max(1, round(height * scale)), max(1, round(width * scale)))
        matrix = geometry.scaling(size[1] / width, size[0] / height)
        flip = bool(torch.rand((), generator=generator) < 0.5)
        if self.flip and flip:
            matrix = geometry.hflip(size[1]) @ matrix
        return matrix, size

    def weak(self, images: Sequence[Tensor], generator: torch.Generator) -> list[View]:
        """Random resize (a factor drawn from ``scale_range``) and a horizontal flip with probability 1/2."""
        views = []
        for image in images:
            matrix, size = self._weak_matrix(image, generator)
            views.append(View(warp(image.float() / 255.0, matrix, size), matrix))
        return views

    def _geometric(self, size: tuple[int, int], generator: torch.Generator) -> Tensor:
        height, width = size
        kind = int(torch.randint(0, 4, (), generator=generator))
        if kind == 0:
            tx, ty = (_uniform(generator, -self.translate, self.translate) for _ in range(2))
            return geometry.about_centre(width, height, translate_x=tx * width, translate_y=ty * height)
        if kind == 1:
            return geometry.about_centre(width, height, angle=_uniform(generator, -self.rotate, self.rotate))
        value = _uniform(generator, -self.shear, self.shear)
        return geometry.about_centre(width, height, **{"shear_x" if kind == 2 else "shear_y": value})

    def _erase(self, image: Tensor, generator: torch.Generator) -> Tensor:
        height, width = image.shape[1:]
        count = int(torch.randint(1, self.max_erasures + 1, (), generator=generator))
        for _ in range(count):
            area = _uniform(generator, 0.0, self.max_erase_area) * height * width
            ratio = _uniform(generator, 0.3, 1 / 0.3)
            h = min(height, max(1, round((area * ratio) ** 0.5)))
            w = min(width, max(1, round((area / ratio) ** 0.5)))
            top = int(torch.randint(0, height - h + 1, (), generator=generator))
            left = int(torch.randint(0, width - w + 1, (), generator=generator))
            image[:, top : top + h, left : left + w] = 0.0
        return image

    def strong(self, images: Sequence[Tensor], generator: torch.Generator) -> list[View]:
        """The weak view's geometry, one geometric operation (translate, rotate or shear) about the centre, one
        colour operation, then 1..``max_erasures`` erased rectangles."""
        views = []
        for image in images:
            matrix, size = self._weak_matrix(image, generator)
            matrix = self._geometric(size, generator) @ matrix
            pixels = warp(image.float() / 255.0, matrix, size)
            _name, low, high, apply = COLOUR_OPS[int(torch.randint(0, len(COLOUR_OPS), (), generator=generator))]
            value = torch.tensor([_uniform(generator, low, high)], device=pixels.device)
            pixels = apply(pixels[None], value)[0].clamp(0.0, 1.0)
            views.append(View(self._erase(pixels.contiguous(), generator), matrix))
        return views

    def test(self, images: Sequence[Tensor]) -> list[View]:
        """The cached images as float, with the identity matrix."""
        return [View(image.float() / 255.0, geometry.identity()) for image in images]
