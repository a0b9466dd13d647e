"""The stream's batched transforms: weak (crop and flip), strong (weak, RandAugment-style ops, Cutout), test.

Every setting is a field of :class:`ImageTransforms` (the datasets expose them as configuration): the weak
view's crop padding and flip, or no weak augmentation at all; the strong view's number of operations, their
magnitude and the Cutout size.

Random parameters are drawn per image from the CPU generator the trainer passes, so a seed fixes every
view; only the drawn parameters move to the images' device, where the work happens in a few batched calls.

The strong view draws ``ops_per_image`` operations per image (uniformly, with repetition) from :data:`OPS`,
each with a uniform random value in its range; ``magnitude`` below 1 shrinks every range towards the
operation's no-op value. Images are grouped by operation, so each pixel operation runs
once per draw on the images that drew it. Geometric operations (rotate, shear, translate) of all draws are
composed into one affine map per image and applied once after the pixel operations: one resampling instead of
one per draw. Pixels moved in from outside the image and the Cutout square get the dataset mean.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import attrs
import torch
from torch import Tensor

from sscl_plugin_datasets import ops


class Op(NamedTuple):
    """A RandAugment operation: its value range (value = low + u * (high - low), u uniform in [0, 1]), the
    value at which it changes least (``neutral``) and, for pixel operations, the batched function applying it;
    geometric operations have ``apply`` None."""

    name: str
    low: float
    high: float
    neutral: float
    apply: Callable[[Tensor, Tensor], Tensor] | None


def _identity(images: Tensor, _unused: Tensor) -> Tensor:
    return images


OPS: tuple[Op, ...] = (
    Op("identity", 0.0, 0.0, 0.0, _identity),
    Op("autocontrast", 0.0, 0.0, 0.0, ops.autocontrast),
    Op("equalize", 0.0, 0.0, 0.0, ops.equalize),
    Op("brightness", 0.1, 1.9, 1.0, ops.brightness),
    Op("contrast", 0.1, 1.9, 1.0, ops.contrast),
    Op("sharpness", 0.1, 1.9, 1.0, ops.sharpness),
    Op("posterize", 4.0, 8.999, 8.999, ops.posterize),
    Op("solarize", 0.0, 1.0, 1.0, ops.solarize),
    Op("rotate", -30.0, 30.0, 0.0, None),
    Op("shear_x", -0.3, 0.3, 0.0, None),
    Op("shear_y", -0.3, 0.3, 0.0, None),
    Op("translate_x", -0.3, 0.3, 0.0, None),
    Op("translate_y", -0.3, 0.3, 0.0, None),
)
"""The strong view's operations; rotate is in degrees, translate in fractions of the image side."""

_OP_ID = {op.name: i for i, op in enumerate(OPS)}
_LOW = torch.tensor([op.low for op in OPS])
_SPAN = torch.tensor([op.high - op.low for op in OPS])
_NEUTRAL = torch.tensor([op.neutral for op in OPS])
_GEOMETRIC = torch.tensor([op.apply is None for op in OPS])
_GEOMETRIC_IDS = torch.tensor([_OP_ID[name] for name in ("rotate", "shear_x", "shear_y", "translate_x", "translate_y")])


def _pad_modes(_instance: object, attribute: attrs.Attribute, value: str) -> None:
    if value not in ("reflect", "zero"):
        raise ValueError(f"{attribute.name} must be 'reflect' or 'zero', got {value!r}")


def at_least_zero(_instance: object, attribute: attrs.Attribute, value: float | None) -> None:
    """An attrs validator: ``value`` is None or at least 0."""
    if value is not None and value < 0:
        raise ValueError(f"{attribute.name} must be 0 or more, got {value!r}")


def in_unit_range(_instance: object, attribute: attrs.Attribute, value: float) -> None:
    """An attrs validator: ``value`` lies in [0, 1]."""
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must lie in [0, 1], got {value!r}")


@attrs.define(frozen=True, eq=False)
class ImageTransforms:
    """Batched weak, strong and test views (the ``sscl_core.BatchTransforms`` protocol).

    Input: uint8 images (N, C, H, W) on any device. Output: float32 images normalized by the per-channel
    ``mean`` and ``std`` (given for intensities in [0, 1]), on the same device. The defaults are the views every
    dataset had before they became configurable.
    """

    mean: tuple[float, ...]
    """Per-channel mean of the images in [0, 1]."""
    std: tuple[float, ...]
    """Per-channel standard deviation of the images in [0, 1]."""
    flip: bool = True
    """Whether the weak and strong views flip images horizontally at random."""
    pad_mode: str = attrs.field(default="reflect", validator=_pad_modes)
    """How the random crop pads: "reflect" or "zero"."""
    crop: bool = True
    """Whether the views crop and flip at all; False makes the weak view the test view (no random draws) and
    the strong view the operations and Cutout on the unshifted image."""
    padding: int | None = attrs.field(default=None, validator=at_least_zero)
    """Padding of the random crop in pixels; None: about a side / 8 (:meth:`crop_padding`)."""
    ops_per_image: int = attrs.field(default=2, validator=at_least_zero)
    """Random operations the strong view applies to each image."""
    magnitude: float = attrs.field(default=1.0, validator=in_unit_range)
    """Share of each operation's value range the strong view draws from, around its neutral value (1: all)."""
    cutout_fraction: float = attrs.field(default=0.5, validator=in_unit_range)
    """Side of the strong view's Cutout square, as a fraction of the image side (0: no Cutout)."""

    def crop_padding(self, size: int) -> int:
        """Padding of the random crop for images of side ``size``: ``padding`` if set, else 4 px at 32 px,
        about size / 8, at least 1."""
        return self.padding if self.padding is not None else max(1, round(size / 8))

    def cutout_size(self, size: int) -> int:
        """Side of the Cutout square for images of side ``size`` (0 when ``cutout_fraction`` is 0)."""
        return max(1, round(size * self.cutout_fraction)) if self.cutout_fraction > 0 else 0

    def test(self, images: Tensor) -> Tensor:
        """Conversion to float and normalization only."""
        return self._normalize(self._to_unit(images))

    def weak(self, images: Tensor, generator: torch.Generator) -> Tensor:
        """Random crop (padding about 1/8 of the side) and, if ``flip``, a random horizontal flip per image;
        just the test view when ``crop`` is off."""
        return self.test(self._crop_flip(images, generator))

    def strong(self, images: Tensor, generator: torch.Generator) -> Tensor:
        """The weak view's crop and flip, ``ops_per_image`` random operations per image, then Cutout."""
        cropped = self._crop_flip(images, generator)
        n, _channels, height, width = images.shape
        op_ids = torch.randint(len(OPS), (n, self.ops_per_image), generator=generator)
        values = op_values(op_ids, torch.rand((n, self.ops_per_image), generator=generator), self.magnitude)
        size = min(self.cutout_size(min(height, width)), height, width)
        top = torch.randint(height - size + 1, (n,), generator=generator)
        left = torch.randint(width - size + 1, (n,), generator=generator)
        unit = self._to_unit(cropped)
        for draw in range(self.ops_per_image):
            unit = _apply_pixel_ops(unit, op_ids[:, draw], values[:, draw])
        normalized = _apply_geometric_ops(self._normalize(unit), op_ids, values)
        return ops.cutout(normalized, top.to(images.device), left.to(images.device), size)

    def _to_unit(self, images: Tensor) -> Tensor:
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError(f"transforms take uint8 images (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
        return images.to(torch.float32).div_(255.0)

    def _normalize(self, unit: Tensor) -> Tensor:
        mean = ops.channel_constants(self.mean, unit.device)
        std = ops.channel_constants(self.std, unit.device)
        return unit.sub_(mean).div_(std)

    def _crop_flip(self, images: Tensor, generator: torch.Generator) -> Tensor:
        if not self.crop:
            return images
        n, _channels, height, width = images.shape
        pad_y, pad_x = self.crop_padding(height), self.crop_padding(width)
        shift_y = torch.randint(-pad_y, pad_y + 1, (n,), generator=generator)
        shift_x = torch.randint(-pad_x, pad_x + 1, (n,), generator=generator)
        flip = (torch.rand(n, generator=generator) < 0.5) & self.flip
        device = images.device
        return ops.crop_flip(images, shift_y.to(device), shift_x.to(device), flip.to(device), self.pad_mode)


def op_values(op_ids: Tensor, uniform: Tensor, magnitude: float) -> Tensor:
    """Each draw's value: ``uniform`` (in [0, 1]) mapped onto its operation's range, shrunk by ``magnitude``
    towards the operation's neutral value (at magnitude 1 exactly ``low + uniform * (high - low)``)."""
    low, span = _LOW + (1.0 - magnitude) * (_NEUTRAL - _LOW), _SPAN * magnitude
    return low[op_ids] + uniform * span[op_ids]


def _apply_pixel_ops(unit: Tensor, op_ids: Tensor, values: Tensor) -> Tensor:
    """Apply each image's pixel operation (``op_ids``, ``values`` on the CPU), one call per operation."""
    if _GEOMETRIC[op_ids].all():
        return unit
    order = torch.argsort(op_ids, stable=True)
    counts = torch.bincount(op_ids, minlength=len(OPS)).tolist()
    device = unit.device
    grouped = unit.index_select(0, order.to(device))
    grouped_values = values[order].to(device)
    start = 0
    for op, count in zip(OPS, counts, strict=True):
        group = slice(start, start + count)
        if count and op.apply is not _identity and op.apply is not None:
            grouped[group] = op.apply(grouped[group], grouped_values[group])
        start += count
    return grouped.index_select(0, torch.argsort(order).to(device))


def _affine_matrices(op_ids: Tensor, values: Tensor, height: int, width: int) -> Tensor:
    """(N, K, 3, 3) pixel-unit affine maps of each image's K draws; a draw that is not geometric is identity.

    At most one of angle, shears and translations is non-zero per draw, so one formula covers them all.
    """
    picked = torch.where(op_ids[..., None] == _GEOMETRIC_IDS, values[..., None], 0.0)
    angle, shear_x, shear_y, shift_x, shift_y = picked.unbind(-1)
    angle = angle * (math.pi / 180.0)
    cos, sin = torch.cos(angle), torch.sin(angle)
    zeros, ones = torch.zeros_like(cos), torch.ones_like(cos)
    rows = (
        torch.stack([cos, shear_x - sin, shift_x * width], dim=-1),
        torch.stack([sin + shear_y, cos, shift_y * height], dim=-1),
        torch.stack([zeros, zeros, ones], dim=-1),
    )
    return torch.stack(rows, dim=-2)


def _apply_geometric_ops(images: Tensor, op_ids: Tensor, values: Tensor) -> Tensor:
    """Warp the images that drew geometric operations once, through the composition of their draws."""
    warped = _GEOMETRIC[op_ids].any(dim=1).nonzero().flatten()
    if len(warped) == 0:
        return images
    height, width = images.shape[2:]
    per_draw = _affine_matrices(op_ids[warped], values[warped], height, width)
    composed = per_draw[:, 0]
    for draw in range(1, per_draw.shape[1]):
        composed = composed @ per_draw[:, draw]
    theta = ops.normalized_theta(composed, height, width).to(images.device)
    index = warped.to(images.device)
    return images.index_copy(0, index, ops.warp(images[index], theta))
