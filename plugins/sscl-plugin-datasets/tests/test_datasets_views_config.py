"""Augmentation as configuration: the dataset fields reach the transforms, and each setting does what it says."""

from __future__ import annotations

import pytest
import torch

from sscl_core import Callback, SsclError, component, hookimpl
from sscl_core.api.components import describe_fields
from sscl_core.config.run_config import load_config
from sscl_core.plugins.registry import load_registry
from sscl_core.run.trainer import Trainer
from sscl_plugin_datasets.augment import _LOW, _NEUTRAL, _SPAN, OPS, ImageTransforms, op_values
from sscl_plugin_datasets.digits import Digits
from sscl_plugin_datasets.mnist import FashionMnist

MEAN, STD = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)


def images(n: int = 12, size: int = 16) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, size, size), generator=torch.Generator().manual_seed(5)).to(torch.uint8)


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_defaults_are_the_views_of_before():
    digits, fmnist = Digits().transforms(), FashionMnist().transforms()
    assert (digits.flip, digits.pad_mode, fmnist.flip, fmnist.pad_mode) == (False, "zero", True, "zero")
    for transforms in (digits, fmnist):
        assert transforms.crop and transforms.ops_per_image == 2 and transforms.cutout_fraction == 0.5
        assert transforms.magnitude == 1.0 and transforms.crop_padding(32) == 4 and transforms.cutout_size(32) == 16


def test_describe_shows_the_view_fields_with_the_dataset_defaults():
    fields = {f["name"]: f["default"] for f in describe_fields(Digits)}
    expected = {"weak_view": "crop-flip", "crop_padding": None, "flip": False, "pad_mode": "zero", "strong_ops": 2}
    assert expected.items() <= fields.items()
    assert {"strong_magnitude": 1.0, "cutout": 0.5}.items() <= fields.items()
    assert {f["name"]: f["default"] for f in describe_fields(FashionMnist)}["flip"] is True


def test_fields_reach_the_transforms():
    dataset = Digits(weak_view="none", crop_padding=2, flip=True, strong_ops=3, strong_magnitude=0.5, cutout=0.25)
    transforms = dataset.build_stream(0).transforms
    assert not transforms.crop and transforms.flip and transforms.padding == 2 and transforms.crop_padding(8) == 2
    assert (transforms.ops_per_image, transforms.magnitude, transforms.cutout_fraction) == (3, 0.5, 0.25)


def test_no_weak_view_is_the_test_view():
    transforms = ImageTransforms(mean=MEAN, std=STD, crop=False)
    x = images()
    assert torch.equal(transforms.weak(x, seeded()), transforms.test(x))


def test_strong_view_without_ops_cutout_and_crop_is_the_test_view():
    transforms = ImageTransforms(mean=MEAN, std=STD, crop=False, ops_per_image=0, cutout_fraction=0.0)
    x = images()
    assert torch.equal(transforms.strong(x, seeded()), transforms.test(x))


def test_strong_view_without_ops_and_cutout_is_the_weak_view():
    transforms = ImageTransforms(mean=MEAN, std=STD, ops_per_image=0, cutout_fraction=0.0)
    x = images()
    assert torch.equal(transforms.strong(x, seeded(4)), transforms.weak(x, seeded(4)))
    assert not torch.equal(transforms.weak(x, seeded(4)), transforms.test(x))


def test_cutout_size_sets_the_zeroed_square():
    x = images(size=20)
    for fraction, side in ((0.25, 5), (0.5, 10)):
        transforms = ImageTransforms(mean=MEAN, std=STD, crop=False, ops_per_image=0, cutout_fraction=fraction)
        changed = (transforms.strong(x, seeded()) != transforms.test(x)).any(dim=1)
        assert transforms.cutout_size(20) == side
        assert (changed.flatten(1).sum(dim=1) <= side * side).all() and changed.flatten(1).sum(dim=1).max() > 0


def test_padding_zero_with_no_flip_keeps_images():
    transforms = ImageTransforms(mean=MEAN, std=STD, flip=False, padding=0)
    x = images()
    assert torch.equal(transforms.weak(x, seeded()), transforms.test(x))


def test_magnitude_shrinks_every_range_towards_neutral():
    op_ids = torch.arange(len(OPS)).repeat(50)
    uniform = torch.rand(len(op_ids), generator=seeded())
    assert torch.equal(op_values(op_ids, uniform, 1.0), _LOW[op_ids] + uniform * _SPAN[op_ids])
    half = op_values(op_ids, uniform, 0.5)
    low, high = _NEUTRAL + 0.5 * (_LOW - _NEUTRAL), _NEUTRAL + 0.5 * (_LOW + _SPAN - _NEUTRAL)
    assert (half >= low[op_ids] - 1e-6).all() and (half <= high[op_ids] + 1e-6).all()
    assert torch.allclose(op_values(op_ids, uniform, 0.0), _NEUTRAL[op_ids])
    rotate = op_ids == [op.name for op in OPS].index("rotate")
    assert half[rotate].abs().max() <= 15.0 and half[rotate].abs().max() > 10.0


@pytest.mark.parametrize(
    ("settings", "text"),
    [
        ({"weak_view": "random"}, "weak_view must be one of crop-flip, none"),
        ({"strong_magnitude": 1.5}, "strong_magnitude must lie in [0, 1]"),
        ({"cutout": -0.1}, "cutout must lie in [0, 1]"),
        ({"strong_ops": -1}, "strong_ops must be 0 or more"),
        ({"pad_mode": "edge"}, "pad_mode must be one of reflect, zero"),
    ],
)
def test_bad_view_settings_are_refused(settings, text):
    with pytest.raises(SsclError, match=text.replace("[", r"\[").replace("]", r"\]")):
        load_registry().create("dataset", {"name": "digits", **settings})


def test_crop_padding_must_be_smaller_than_the_images(one_line_error):
    one_line_error(Digits(crop_padding=8), "crop_padding=8 must be smaller than the images' side (8 px)")


def test_run_without_weak_view_trains_on_the_normalized_images(tmp_path):
    seen: list[bool] = []

    @component
    class Probe(Callback):
        name = "views-probe"

        @hookimpl
        def before_iter(self, ctx, batch) -> None:
            seen.append(torch.equal(batch.x, ctx.stream.transforms.test(batch.x_raw.to(batch.x.device))))

    registry = load_registry()
    registry.add("callback", Probe, "tests")
    overrides = [
        f"output_dir={tmp_path}",
        "method=er",
        "device=cpu",
        "dataset.weak_view=none",
        "dataset.num_tasks=2",
        "train.iters_per_task=6",
        "callbacks=[views-probe]",
    ]
    Trainer(load_config(overrides=overrides), registry).run()
    assert len(seen) == 12 and all(seen)
