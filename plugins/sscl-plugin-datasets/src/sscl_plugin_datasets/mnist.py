"""MNIST-format datasets: the four standard IDX files (gzip-compressed or not) in a root folder."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import torch
from torch import Tensor

from sscl_core import component, param
from sscl_plugin_datasets.cache import cached, file_signature
from sscl_plugin_datasets.errors import FileFormatError, data_error
from sscl_plugin_datasets.files import dataset_root, required_file
from sscl_plugin_datasets.idx import read_idx
from sscl_plugin_datasets.split import RawData, SplitSemiDataset, flip_param, pad_mode_param

IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
"""The standard file names (each also accepted with a ``.gz`` suffix): train images, train labels, test
images, test labels."""


@component
class MnistFormatDataset(SplitSemiDataset):
    """Base of datasets stored as MNIST's four IDX files: grey images (N, 28, 28), labels 0..9.

    Subclasses set ``class_names`` and ``how_to_get``, and may give ``root`` a default.
    """

    class_names: ClassVar[tuple[str, ...]]
    """Names of the ten classes, by label."""
    how_to_get: ClassVar[str]
    """The end of every file error: how to get the files and where to point ``dataset.root``."""
    flip: bool = flip_param(False)
    pad_mode: str = pad_mode_param("zero")
    expected_classes: ClassVar[int | None] = 10

    root: str | None = param(None, help="folder holding the four IDX files (.gz or not); required")

    def load_data(self) -> RawData:
        """The four IDX files of ``root``, checked for magic numbers, sizes and matching counts; cached."""
        name = type(self).name
        folder = dataset_root(name, self.root, self.how_to_get)
        paths = [required_file(name, folder, (f"{stem}.gz", stem), self.how_to_get) for stem in IDX_FILES]
        return cached((name, *file_signature(paths)), lambda: self._decode(paths))

    def _decode(self, paths: list[Path]) -> RawData:
        train_x, train_y, test_x, test_y = (self._read(path, 3 if i % 2 == 0 else 1) for i, path in enumerate(paths))
        for images, labels, images_path, labels_path in ((train_x, train_y, *paths[:2]), (test_x, test_y, *paths[2:])):
            if len(images) != len(labels):
                problem = f"{len(labels)} labels for the {len(images)} images of {images_path.name}"
                raise self._fail(labels_path, f"{problem}: the files do not belong together")
            if labels.numel() and int(labels.max()) >= len(self.class_names):
                raise self._fail(labels_path, f"label {int(labels.max())} is not in 0..{len(self.class_names) - 1}")
        if train_x.shape[1:] != test_x.shape[1:]:
            train_size, test_size = "x".join(map(str, train_x.shape[1:])), "x".join(map(str, test_x.shape[1:]))
            problem = f"images are {test_size} pixels but the training images ({paths[0].name}) are {train_size}"
            raise self._fail(paths[2], f"{problem}: the files do not belong together")
        return RawData(
            train_x=train_x.unsqueeze(1),
            train_y=train_y.to(torch.int64),
            test_x=test_x.unsqueeze(1),
            test_y=test_y.to(torch.int64),
            class_names=self.class_names,
        )

    def _read(self, path: Path, dimensions: int) -> Tensor:
        try:
            return read_idx(path, dimensions)
        except (FileFormatError, OSError) as error:
            raise self._fail(path, str(error)) from None

    def _fail(self, path: Path, problem: str) -> Exception:
        return data_error(type(self).name, path, problem, self.how_to_get)


@component
class FashionMnist(MnistFormatDataset):
    """Fashion-MNIST (Zalando): 60,000 training and 10,000 test grey 28x28 images of 10 clothing classes."""

    name = "fashion-mnist"
    class_names: ClassVar[tuple[str, ...]] = (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    )
    how_to_get: ClassVar[str] = (
        "install the Debian package with 'apt-get install dataset-fashion-mnist' (it puts the four IDX files in "
        "/usr/share/datasets/fashion-mnist), or download them from https://github.com/zalandoresearch/fashion-mnist "
        "and set dataset.root to their folder"
    )
    image_mean: ClassVar[tuple[float, ...]] = (0.2860,)
    image_std: ClassVar[tuple[float, ...]] = (0.3530,)
    flip: bool = flip_param(True)

    root: str | None = param("/usr/share/datasets/fashion-mnist", help="folder holding the four IDX files (.gz or not)")


@component
class Mnist(MnistFormatDataset):
    """MNIST: 60,000 training and 10,000 test grey 28x28 images of handwritten digits."""

    name = "mnist"
    class_names: ClassVar[tuple[str, ...]] = tuple(str(d) for d in range(10))
    how_to_get: ClassVar[str] = (
        "download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and "
        "t10k-labels-idx1-ubyte.gz (e.g. from https://ossci-datasets.s3.amazonaws.com/mnist/ or a mirror of "
        "http://yann.lecun.com/exdb/mnist/) into one folder and set dataset.root to it"
    )
    image_mean: ClassVar[tuple[float, ...]] = (0.1307,)
    image_std: ClassVar[tuple[float, ...]] = (0.3081,)
