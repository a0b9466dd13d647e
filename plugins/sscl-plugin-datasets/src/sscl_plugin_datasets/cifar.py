"""CIFAR-10 and CIFAR-100 from their standard "python version" pickle batches, read with a restricted unpickler."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy
import torch

from sscl_core import component, param
from sscl_plugin_datasets.cache import cached, file_signature
from sscl_plugin_datasets.errors import FileFormatError, data_error
from sscl_plugin_datasets.files import data_folder, dataset_root, required_file
from sscl_plugin_datasets.safe_pickle import load_restricted
from sscl_plugin_datasets.split import RawData, SplitSemiDataset

IMAGE_BYTES = 3 * 32 * 32
"""Bytes of one CIFAR image row: 1024 red, then 1024 green, then 1024 blue values."""


def _entry(batch: dict[Any, Any], key: str) -> Any:
    """``batch[key]`` under its bytes key (the original Python 2 pickles) or its str key (re-pickled files)."""
    if key.encode() in batch:
        return batch[key.encode()]
    if key in batch:
        return batch[key]
    raise FileFormatError(f"has no '{key}' entry (entries: {', '.join(str(k) for k in batch)})")


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


@component
class CifarDataset(SplitSemiDataset):
    """Base of the CIFAR datasets: 32x32 colour images in pickled batches under one folder."""

    folder_name: ClassVar[str]
    """The dataset's folder, as the official archive unpacks it."""
    train_files: ClassVar[tuple[str, ...]]
    """The training batches, in order."""
    test_files: ClassVar[tuple[str, ...]]
    """The test batches, in order."""
    meta_file: ClassVar[str]
    """The file holding the class names."""
    labels_key: ClassVar[str]
    """Entry of a batch holding the labels."""
    names_key: ClassVar[str]
    """Entry of the meta file holding the class names."""
    archive_url: ClassVar[str]
    """Where the official archive is downloaded from."""

    root: str | None = param(None, help="folder holding the unpacked dataset folder (or that folder itself); required")

    @property
    def how_to_get(self) -> str:
        """The end of every file error: where to get the archive and where to point ``dataset.root``."""
        return (
            f"download {self.archive_url} (the python version), unpack it and set dataset.root to the folder "
            f"holding {self.folder_name}"
        )

    def load_data(self) -> RawData:
        """Every batch and the meta file, checked for entries, shapes and label ranges; cached."""
        name = type(self).name
        folder = data_folder(name, dataset_root(name, self.root, self.how_to_get), self.folder_name, self.how_to_get)
        paths = [
            required_file(name, folder, (f,), self.how_to_get)
            for f in (*self.train_files, *self.test_files, self.meta_file)
        ]
        return cached((name, *file_signature(paths)), lambda: self._decode(paths))

    def _decode(self, paths: list[Path]) -> RawData:
        meta_path = paths[-1]
        names = self._guarded(meta_path, lambda: self._load_names(meta_path))
        train_paths = paths[: len(self.train_files)]
        test_paths = paths[len(self.train_files) : -1]
        train = [self._guarded(p, lambda p=p: self._load_batch(p, len(names))) for p in train_paths]
        test = [self._guarded(p, lambda p=p: self._load_batch(p, len(names))) for p in test_paths]
        return RawData(
            train_x=torch.cat([x for x, _ in train]),
            train_y=torch.cat([y for _, y in train]),
            test_x=torch.cat([x for x, _ in test]),
            test_y=torch.cat([y for _, y in test]),
            class_names=names,
        )

    def _guarded(self, path: Path, read: Any) -> Any:
        try:
            return read()
        except (FileFormatError, OSError) as error:
            raise data_error(type(self).name, path, str(error), self.how_to_get) from None

    def _load_dict(self, path: Path) -> dict[Any, Any]:
        content = load_restricted(path)
        if not isinstance(content, dict):
            raise FileFormatError(f"holds a {type(content).__name__}, not the dict of a CIFAR batch")
        return content

    def _load_names(self, path: Path) -> tuple[str, ...]:
        names = _entry(self._load_dict(path), self.names_key)
        if not isinstance(names, (list, tuple)) or not names or not all(isinstance(n, (bytes, str)) for n in names):
            raise FileFormatError(f"'{self.names_key}' is not a list of class names")
        return tuple(_text(n) for n in names)

    def _load_batch(self, path: Path, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
        batch = self._load_dict(path)
        data = _entry(batch, "data")
        if (
            not isinstance(data, numpy.ndarray)
            or data.dtype != numpy.uint8
            or data.ndim != 2
            or data.shape[1] != IMAGE_BYTES
        ):
            described = f"{data.dtype} {data.shape}" if isinstance(data, numpy.ndarray) else type(data).__name__
            raise FileFormatError(f"'data' is {described}, expected uint8 rows of {IMAGE_BYTES} values")
        try:
            labels = numpy.asarray(_entry(batch, self.labels_key), dtype=numpy.int64)
        except (TypeError, ValueError) as error:
            raise FileFormatError(f"'{self.labels_key}' is not a list of integers ({error})") from None
        if labels.shape != (data.shape[0],):
            raise FileFormatError(f"{labels.size} labels for {data.shape[0]} images")
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise FileFormatError(
                f"labels must lie in 0..{num_classes - 1} (the meta file names {num_classes} classes)"
            )
        images = torch.from_numpy(numpy.ascontiguousarray(data)).reshape(-1, 3, 32, 32).clone()
        return images, torch.from_numpy(labels)


@component
class Cifar10(CifarDataset):
    """CIFAR-10: 50,000 training and 10,000 test colour 32x32 images of 10 classes."""

    name = "cifar10"
    expected_classes: ClassVar[int | None] = 10
    folder_name: ClassVar[str] = "cifar-10-batches-py"
    train_files: ClassVar[tuple[str, ...]] = tuple(f"data_batch_{i}" for i in range(1, 6))
    test_files: ClassVar[tuple[str, ...]] = ("test_batch",)
    meta_file: ClassVar[str] = "batches.meta"
    labels_key: ClassVar[str] = "labels"
    names_key: ClassVar[str] = "label_names"
    archive_url: ClassVar[str] = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    image_mean: ClassVar[tuple[float, ...]] = (0.4914, 0.4822, 0.4465)
    image_std: ClassVar[tuple[float, ...]] = (0.2470, 0.2435, 0.2616)


@component
class Cifar100(CifarDataset):
    """CIFAR-100: 50,000 training and 10,000 test colour 32x32 images of 100 classes (the fine labels)."""

    name = "cifar100"
    expected_classes: ClassVar[int | None] = 100
    folder_name: ClassVar[str] = "cifar-100-python"
    train_files: ClassVar[tuple[str, ...]] = ("train",)
    test_files: ClassVar[tuple[str, ...]] = ("test",)
    meta_file: ClassVar[str] = "meta"
    labels_key: ClassVar[str] = "fine_labels"
    names_key: ClassVar[str] = "fine_label_names"
    archive_url: ClassVar[str] = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    image_mean: ClassVar[tuple[float, ...]] = (0.5071, 0.4865, 0.4409)
    image_std: ClassVar[tuple[float, ...]] = (0.2673, 0.2564, 0.2762)
