"""Batched transforms: shapes, normalization, per-image randomness, determinism, and what each op does."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
import torchvision.transforms.v2.functional as TF

from sscl_plugin_datasets import ops
from sscl_plugin_datasets.augment import ImageTransforms

MEAN, STD = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def images(n: int = 16, channels: int = 3, size: int = 32, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, channels, size, size), generator=torch.Generator().manual_seed(seed)).to(
        torch.uint8
    )


def rgb() -> ImageTransforms:
    return ImageTransforms(mean=MEAN, std=STD, flip=True)


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("channels", "size"), [(3, 32), (1, 28), (1, 8), (3, 64)])
def test_views_keep_shape_and_device_and_give_floats(device, channels, size):
    transforms = ImageTransforms(mean=(0.3,) * channels, std=(0.3,) * channels, flip=channels == 3)
    x = images(6, channels, size).to(device)
    for out in (transforms.weak(x, seeded()), transforms.strong(x, seeded()), transforms.test(x)):
        assert out.shape == x.shape and out.dtype == torch.float32 and out.device == x.device
        assert torch.isfinite(out).all()


def test_test_view_is_the_normalized_image():
    x = torch.full((2, 3, 8, 8), 51, dtype=torch.uint8)
    out = rgb().test(x)
    expected = torch.tensor([(0.2 - m) / s for m, s in zip(MEAN, STD, strict=True)]).view(1, 3, 1, 1)
    assert torch.allclose(out, expected.expand_as(out), atol=1e-6)


def test_uint8_input_is_required():
    with pytest.raises(ValueError, match="uint8"):
        rgb().test(torch.zeros(1, 3, 8, 8))


@pytest.mark.parametrize("view", ["weak", "strong"])
def test_identical_images_get_different_views(view):
    x = images(1).repeat(12, 1, 1, 1)
    out = getattr(rgb(), view)(x, seeded())
    distinct = {tuple(o.flatten()[::7].tolist()) for o in out}
    assert len(distinct) >= (8 if view == "weak" else 12)


@pytest.mark.parametrize("view", ["weak", "strong"])
def test_a_generator_seed_fixes_the_views(view):
    x = images()
    first = getattr(rgb(), view)(x, seeded(3))
    assert torch.equal(first, getattr(rgb(), view)(x, seeded(3)))
    assert not torch.equal(first, getattr(rgb(), view)(x, seeded(4)))


def test_weak_crop_keeps_content_shifted_by_at_most_the_padding():
    x = images(8, 1, 32)
    transforms = ImageTransforms(mean=(0.0,), std=(1.0,), flip=False, pad_mode="zero")
    out = transforms.weak(x, seeded())
    pad = transforms.crop_padding(32)
    assert pad == 4
    padded = F.pad(x.float() / 255, (pad, pad, pad, pad))
    for image, view in zip(padded, out, strict=True):
        matches = [
            (dy, dx)
            for dy in range(2 * pad + 1)
            for dx in range(2 * pad + 1)
            if torch.allclose(image[:, dy : dy + 32, dx : dx + 32], view, atol=1e-6)
        ]
        assert len(matches) == 1


def test_zero_padded_crop_of_a_constant_image_is_a_shifted_rectangle():
    x = torch.full((20, 1, 28, 28), 200, dtype=torch.uint8)
    transforms = ImageTransforms(mean=(0.0,), std=(1.0,), flip=False, pad_mode="zero")
    pad = transforms.crop_padding(28)
    shifted = False
    for view in transforms.weak(x, seeded()):
        kept = view[0] > 0
        rows, cols = kept.any(dim=1), kept.any(dim=0)
        height, width = int(rows.sum()), int(cols.sum())
        assert int(kept.sum()) == height * width, "the kept pixels must form one rectangle"
        assert height >= 28 - pad and width >= 28 - pad
        assert torch.allclose(view[0][kept], torch.tensor(200 / 255))
        shifted |= height * width < 28 * 28
    assert shifted


def test_reflect_padding_keeps_a_constant_image_constant():
    x = torch.full((10, 3, 32, 32), 90, dtype=torch.uint8)
    out = rgb().weak(x, seeded())
    assert torch.allclose(out, rgb().test(x), atol=1e-6)


def test_crop_flip_without_shift_is_a_mirror():
    x = images(4)
    zero = torch.zeros(4, dtype=torch.long)
    flip = torch.tensor([True, False, True, False])
    out = ops.crop_flip(x, zero, zero, flip, "reflect")
    assert torch.equal(out[0], x[0].flip(-1)) and torch.equal(out[1], x[1])


def test_digits_style_transforms_never_flip():
    x = images(1, 1, 8).repeat(64, 1, 1, 1)
    x[:, :, :, :4] = 0
    transforms = ImageTransforms(mean=(0.0,), std=(1.0,), flip=False, pad_mode="zero")
    unit = transforms.weak(x, seeded())
    left, right = unit[..., :3].abs().sum(), unit[..., 5:].abs().sum()
    assert left < right / 4


def test_cutout_zeroes_exactly_one_square():
    x = torch.ones(3, 2, 10, 10)
    out = ops.cutout(x, torch.tensor([0, 2, 5]), torch.tensor([0, 3, 5]), 5)
    for image, top, left in zip(out, (0, 2, 5), (0, 3, 5), strict=True):
        zero = image == 0
        assert zero[:, top : top + 5, left : left + 5].all() and int(zero.sum()) == 2 * 25


def test_strong_view_contains_a_cutout_square():
    transforms = rgb()
    out = transforms.strong(images(12), seeded())
    size = transforms.cutout_size(32)
    assert size == 16
    all_zero = (out == 0).all(dim=1, keepdim=True).float()
    full_squares = F.avg_pool2d(all_zero, size, stride=1)
    assert (full_squares.flatten(1).max(dim=1).values == 1).all()


def test_strong_view_is_the_weak_crop_changed_by_its_ops():
    transforms = ImageTransforms(mean=MEAN, std=STD, flip=True, cutout_fraction=0.0625)
    x = images(40)
    weak, strong = transforms.weak(x, seeded(2)), transforms.strong(x, seeded(2))
    changed = (strong - weak).abs().flatten(1).mean(dim=1) > 0.02
    assert int(changed.sum()) >= 30


def per_image(op, x: torch.Tensor, values: list[float]) -> torch.Tensor:
    return torch.stack([op(image, value) for image, value in zip(x, values, strict=True)])


def test_pixel_ops_match_torchvision():
    x = images(4, 3, 16)
    unit = x.float() / 255
    factors = torch.tensor([0.1, 0.7, 1.3, 1.9])
    assert torch.allclose(ops.brightness(unit, factors), per_image(TF.adjust_brightness, unit, factors.tolist()))
    assert torch.allclose(ops.contrast(unit, factors), per_image(TF.adjust_contrast, unit, factors.tolist()), atol=2e-3)
    assert torch.allclose(
        ops.sharpness(unit, factors), per_image(TF.adjust_sharpness, unit, factors.tolist()), atol=1e-5
    )
    bits = torch.tensor([4.0, 5.5, 7.2, 8.0])
    expected = per_image(TF.posterize, x, [int(b) for b in bits]).float() / 255
    assert torch.allclose(ops.posterize(unit, bits), expected, atol=1e-6)
    thresholds = torch.tensor([0.0, 0.3, 0.6, 1.0])
    assert torch.allclose(ops.solarize(unit, thresholds), per_image(TF.solarize, unit, thresholds.tolist()))
    assert torch.allclose(ops.autocontrast(unit), TF.autocontrast(unit), atol=1e-6)
    assert torch.equal(torch.round(ops.equalize(unit) * 255).to(torch.uint8), TF.equalize(x))


def test_grey_contrast_matches_torchvision():
    unit = images(4, 1, 16).float() / 255
    factors = torch.tensor([0.1, 0.7, 1.3, 1.9])
    assert torch.allclose(ops.contrast(unit, factors), per_image(TF.adjust_contrast, unit, factors.tolist()), atol=2e-3)


def test_pixel_ops_keep_the_unit_range():
    unit = images(8).float() / 255
    values = torch.rand(8) * 1.8 + 0.1
    for op in (ops.brightness, ops.contrast, ops.sharpness, ops.autocontrast, ops.equalize):
        out = op(unit, values)
        assert out.min() >= 0 and out.max() <= 1


def shift_matrix(dx: float, dy: float) -> torch.Tensor:
    return torch.tensor([[[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]]])


def test_identity_warp_changes_nothing_and_integer_translation_shifts():
    x = torch.rand(1, 3, 12, 20)
    identity = ops.normalized_theta(shift_matrix(0, 0), 12, 20)
    assert torch.allclose(ops.warp(x, identity), x, atol=1e-5)
    moved = ops.warp(x, ops.normalized_theta(shift_matrix(4, -2), 12, 20))
    assert torch.allclose(moved[..., 2:, :16], x[..., :10, 4:], atol=1e-5)
    assert (moved[..., :, 16:] == 0).all() and (moved[..., :2, :] == 0).all()


def test_quarter_turn_is_a_rot90():
    x = torch.rand(1, 2, 9, 9)
    angle = math.pi / 2
    turn = torch.tensor([[[math.cos(angle), -math.sin(angle), 0], [math.sin(angle), math.cos(angle), 0], [0, 0, 1]]])
    out = ops.warp(x, ops.normalized_theta(turn, 9, 9))
    assert any(torch.allclose(out, torch.rot90(x, k, dims=(2, 3)), atol=1e-5) for k in (1, 3))
