"""Batched image operations with one parameter per image, for the weak and strong views.

Every operation takes a batch (N, C, H, W) and per-image parameters as tensors of length N on the batch's
device, and touches all images at once (no Python loop over images). Pixel operations work on floats in
[0, 1] and keep that range; :func:`crop_flip` works on any dtype; :func:`warp` and :func:`cutout` work on
normalized images and fill with 0, which is the dataset mean there.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import Tensor

GREY_WEIGHTS = (0.299, 0.587, 0.114)
"""ITU-R 601 luma weights of R, G, B, used by the contrast operation."""


@functools.lru_cache(maxsize=32)
def channel_constants(values: tuple[float, ...], device: torch.device) -> Tensor:
    """``values`` as a float32 (1, C, 1, 1) tensor on ``device``, made once per device and reused."""
    return torch.tensor(values, dtype=torch.float32, device=device).view(1, -1, 1, 1)


def _per_image(values: Tensor, like: Tensor) -> Tensor:
    return values.to(like.dtype).view(-1, 1, 1, 1)


def _reflect(positions: Tensor, size: int) -> Tensor:
    """Mirror positions outside 0..size-1 back inside, without repeating the edge (like reflect padding)."""
    positions = positions.abs()
    return torch.where(positions > size - 1, 2 * (size - 1) - positions, positions).clamp(0, size - 1)


def crop_flip(images: Tensor, shift_y: Tensor, shift_x: Tensor, flip: Tensor, pad_mode: str) -> Tensor:
    """Shift each image by ``(shift_y, shift_x)`` pixels, as a crop of the padded image would, then flip it
    horizontally where ``flip`` is true; the output has the input's size and dtype.

    Output pixel (i, j) of an unflipped image is input pixel (i + shift_y, j + shift_x). ``pad_mode``
    "reflect" mirrors the image at its borders (shifts must be smaller than the image); "zero" fills with 0.
    """
    n, channels, height, width = images.shape
    device = images.device
    rows = torch.arange(height, device=device) + shift_y[:, None]
    col_steps = torch.arange(width, device=device)
    cols = torch.where(flip[:, None], col_steps.flip(0), col_steps) + shift_x[:, None]
    inside = None
    if pad_mode == "reflect":
        rows, cols = _reflect(rows, height), _reflect(cols, width)
    elif pad_mode == "zero":
        inside = ((rows >= 0) & (rows < height))[:, :, None] & ((cols >= 0) & (cols < width))[:, None, :]
        rows, cols = rows.clamp(0, height - 1), cols.clamp(0, width - 1)
    else:
        raise ValueError(f"pad_mode must be 'reflect' or 'zero', got {pad_mode!r}")
    index = (rows[:, :, None] * width + cols[:, None, :]).view(n, 1, height * width).expand(n, channels, -1)
    out = images.reshape(n, channels, height * width).gather(2, index).view(n, channels, height, width)
    if inside is not None:
        out = out.masked_fill(~inside[:, None], 0)
    return out


def blend(images: Tensor, other: Tensor, factor: Tensor) -> Tensor:
    """``other + factor * (images - other)`` per image, clamped to [0, 1] (PIL's ImageEnhance rule)."""
    return (other + _per_image(factor, images) * (images - other)).clamp(0.0, 1.0)


def brightness(images: Tensor, factor: Tensor) -> Tensor:
    """Scale intensities by ``factor`` (below 1 darker, above 1 brighter)."""
    return (images * _per_image(factor, images)).clamp(0.0, 1.0)


def contrast(images: Tensor, factor: Tensor) -> Tensor:
    """Blend each image with its mean grey level: below 1 flatter, above 1 stronger contrast."""
    channel_means = images.mean(dim=(2, 3), keepdim=True)
    if images.shape[1] == 3:
        grey = (channel_means * channel_constants(GREY_WEIGHTS, images.device)).sum(dim=1, keepdim=True)
    else:
        grey = channel_means.mean(dim=1, keepdim=True)
    return blend(images, grey.to(images.dtype), factor)


def sharpness(images: Tensor, factor: Tensor) -> Tensor:
    """Blend with a smoothed copy (PIL's 3x3 smooth kernel, 5 at the centre and 1 around, borders kept):
    below 1 blurs, above 1 sharpens."""
    height, width = images.shape[2:]
    if height < 3 or width < 3:
        return images
    rows = images[:, :, :-2] + images[:, :, 1:-1] + images[:, :, 2:]
    box = rows[:, :, :, :-2] + rows[:, :, :, 1:-1] + rows[:, :, :, 2:]
    degenerate = images.clone()
    degenerate[:, :, 1:-1, 1:-1] = (box + 4.0 * images[:, :, 1:-1, 1:-1]) / 13.0
    return blend(images, degenerate, factor)


def posterize(images: Tensor, bits: Tensor) -> Tensor:
    """Keep the ``bits`` (1..8) most significant bits of each 8-bit intensity."""
    step = _per_image(torch.pow(2.0, 8 - bits.floor()), images)
    return torch.floor(torch.round(images * 255.0) / step) * step / 255.0


def solarize(images: Tensor, threshold: Tensor) -> Tensor:
    """Invert intensities at or above ``threshold`` (in [0, 1])."""
    return torch.where(images >= _per_image(threshold, images), 1.0 - images, images)


def autocontrast(images: Tensor, _unused: Tensor | None = None) -> Tensor:
    """Stretch each channel of each image to the full range [0, 1]; constant channels stay as they are."""
    low = images.amin(dim=(2, 3), keepdim=True)
    high = images.amax(dim=(2, 3), keepdim=True)
    spread = high - low
    flat = spread <= 0
    scale = torch.where(flat, torch.ones_like(spread), 1.0 / spread.clamp_min(1e-12))
    return ((images - torch.where(flat, torch.zeros_like(low), low)) * scale).clamp(0.0, 1.0)


def equalize(images: Tensor, _unused: Tensor | None = None) -> Tensor:
    """Histogram equalization of each channel of each image (PIL's ImageOps.equalize rule, on 256 levels)."""
    n, channels, height, width = images.shape
    levels = torch.round(images * 255.0).to(torch.int64).view(n * channels, height * width)
    hist = torch.zeros(n * channels, 256, dtype=torch.int64, device=images.device)
    hist.scatter_add_(1, levels, torch.ones_like(levels))
    brightest_count = hist.gather(1, levels.amax(dim=1, keepdim=True))
    step = (height * width - brightest_count) // 255
    below = hist.cumsum(dim=1) - hist
    lut = ((below + step // 2) // step.clamp_min(1)).clamp_max(255)
    equalized = torch.where(step > 0, lut.gather(1, levels), levels)
    return equalized.view(n, channels, height, width).to(images.dtype) / 255.0


def normalized_theta(matrices: Tensor, height: int, width: int) -> Tensor:
    """Turn (N, 3, 3) affine maps in pixel units about the image centre (output -> input position) into the
    (N, 2, 3) ``theta`` of :func:`torch.nn.functional.affine_grid` (normalized units, align_corners=False)."""
    theta = matrices[:, :2, :].clone()
    theta[:, 0, 1] *= height / width
    theta[:, 1, 0] *= width / height
    theta[:, 0, 2] *= 2.0 / width
    theta[:, 1, 2] *= 2.0 / height
    return theta


def warp(images: Tensor, theta: Tensor) -> Tensor:
    """Resample each image through its affine ``theta`` (bilinear); positions outside the image become 0."""
    grid = F.affine_grid(theta.to(images.dtype), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def cutout(images: Tensor, top: Tensor, left: Tensor, size: int) -> Tensor:
    """Set a ``size`` x ``size`` square at ``(top, left)`` of each image to 0, in every channel."""
    height, width = images.shape[2:]
    rows = torch.arange(height, device=images.device)[None, :] - top[:, None]
    cols = torch.arange(width, device=images.device)[None, :] - left[:, None]
    square = ((rows >= 0) & (rows < size))[:, :, None] & ((cols >= 0) & (cols < size))[:, None, :]
    return images.masked_fill(square[:, None], 0.0)
