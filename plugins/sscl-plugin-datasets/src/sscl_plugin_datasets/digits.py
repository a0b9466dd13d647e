"""The embedded digits dataset: UCI's 1,797 grey 8x8 handwritten digits, shipped with this package.

``data/digits.csv.gz`` holds one image per row: 64 pixel counts 0..16, then the label (see the README for
its source and license). Pixels are scaled to 0..255. The data has no official train/test split, so a fixed
stratified one is made here: in each class, :data:`TEST_FRACTION` of the images (rounded), picked by a
generator seeded with the constant :data:`SPLIT_SEED`, form the test split; the same for every run.
"""

from __future__ import annotations

import gzip
from importlib import resources
from typing import ClassVar

import numpy
import torch

from sscl_core import component
from sscl_plugin_datasets.cache import cached
from sscl_plugin_datasets.split import RawData, SplitSemiDataset, flip_param, pad_mode_param

DATA_FILE = "digits.csv.gz"
"""The embedded file, in the package's ``data`` folder."""

TEST_FRACTION = 0.2
"""Share of each class held out as the test split."""

SPLIT_SEED = 0
"""Seed of the fixed train/test split (not the run seed: the split is the same for every run)."""

MAX_PIXEL = 16
"""Largest pixel value in the file (each pixel counts the set bits of a 4x4 block)."""


def read_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """All 1,797 images as uint8 (N, 1, 8, 8) scaled to 0..255, and their int64 labels."""
    with resources.files("sscl_plugin_datasets").joinpath("data", DATA_FILE).open("rb") as raw:
        rows = numpy.loadtxt(gzip.open(raw, "rt"), delimiter=",", dtype=numpy.int64)
    pixels = numpy.rint(rows[:, :64] * (255.0 / MAX_PIXEL)).astype(numpy.uint8)
    return torch.from_numpy(pixels).view(-1, 1, 8, 8), torch.from_numpy(rows[:, 64].copy())


def stratified_split(labels: torch.Tensor) -> torch.Tensor:
    """A boolean mask of the test images: :data:`TEST_FRACTION` of each class, chosen with :data:`SPLIT_SEED`."""
    generator = torch.Generator().manual_seed(SPLIT_SEED)
    is_test = torch.zeros(len(labels), dtype=torch.bool)
    for label in range(int(labels.max()) + 1):
        members = (labels == label).nonzero().flatten()
        chosen = torch.randperm(len(members), generator=generator)[: round(TEST_FRACTION * len(members))]
        is_test[members[chosen]] = True
    return is_test


def _load() -> RawData:
    images, labels = read_digits()
    is_test = stratified_split(labels)
    return RawData(
        train_x=images[~is_test],
        train_y=labels[~is_test],
        test_x=images[is_test],
        test_y=labels[is_test],
        class_names=tuple(str(d) for d in range(10)),
    )


@component
class Digits(SplitSemiDataset):
    """The embedded UCI digits: 1,797 grey 8x8 images of 10 digits (1,438 train and 359 test)."""

    name = "digits"
    expected_classes: ClassVar[int | None] = 10
    image_mean: ClassVar[tuple[float, ...]] = (0.3060,)
    image_std: ClassVar[tuple[float, ...]] = (0.3763,)
    flip: bool = flip_param(False)
    pad_mode: str = pad_mode_param("zero")

    def load_data(self) -> RawData:
        """The embedded images with the fixed stratified split; cached."""
        return cached(("digits", DATA_FILE), _load)
