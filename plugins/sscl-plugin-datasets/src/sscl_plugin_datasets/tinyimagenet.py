"""TinyImageNet from the unpacked ``tiny-imagenet-200`` folder, its JPEGs decoded with torchvision.io.

Layout: ``wnids.txt`` (one WordNet id per class), ``words.txt`` (id, tab, names), ``train/<wnid>/images/*.JPEG``
and ``val/images/*.JPEG`` labelled by ``val/val_annotations.txt`` (file, tab, wnid, box). The labelled
``val`` split serves as the test split (the official test images carry no labels). Classes are numbered
in sorted wnid order; grey JPEGs are decoded to three channels.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ClassVar

import torch
from torch import Tensor
from torchvision.io import ImageReadMode, decode_image, read_file

from sscl_core import component, param
from sscl_plugin_datasets.cache import cached, file_signature
from sscl_plugin_datasets.errors import data_error
from sscl_plugin_datasets.files import data_folder, dataset_root, required_file
from sscl_plugin_datasets.split import RawData, SplitSemiDataset

IMAGE_SIZE = 64
"""Side of every TinyImageNet image."""

JPEG_SUFFIXES = (".jpeg", ".jpg")
"""Image file endings looked for (in any letter case)."""

TORCHVISION_IO_DEPRECATION = ".*image decoding and encoding capabilities of TorchVision are deprecated"
"""torchvision 0.29 warns on every decode that torchvision.io's image decoding moves to TorchCodec; the
decoders still work, and one warning per JPEG would bury everything else, so loading silences it."""


@component
class TinyImageNet(SplitSemiDataset):
    """TinyImageNet: 200 classes of colour 64x64 images, 500 training and 50 labelled validation images each."""

    name = "tinyimagenet"
    expected_classes: ClassVar[int | None] = 200
    folder_name: ClassVar[str] = "tiny-imagenet-200"
    how_to_get: ClassVar[str] = (
        "download http://cs231n.stanford.edu/tiny-imagenet-200.zip, unzip it and set dataset.root to the folder "
        "holding tiny-imagenet-200"
    )
    image_mean: ClassVar[tuple[float, ...]] = (0.4802, 0.4481, 0.3975)
    image_std: ClassVar[tuple[float, ...]] = (0.2770, 0.2691, 0.2821)

    root: str | None = param(None, help="folder holding tiny-imagenet-200 (or that folder itself); required")

    def load_data(self) -> RawData:
        """Every training and validation JPEG, decoded in parallel threads; cached under the three index files
        (a JPEG changed in place is not read again in the same process)."""
        folder = data_folder(
            self.name, dataset_root(self.name, self.root, self.how_to_get), self.folder_name, self.how_to_get
        )
        index_files = [
            required_file(self.name, folder, ("wnids.txt",), self.how_to_get),
            required_file(self.name, folder, ("words.txt",), self.how_to_get),
            required_file(self.name, folder / "val", ("val_annotations.txt",), self.how_to_get),
        ]
        return cached((self.name, *file_signature(index_files)), lambda: self._decode(folder, *index_files))

    def _decode(self, folder: Path, wnids_path: Path, words_path: Path, annotations_path: Path) -> RawData:
        wnids = self._read_wnids(wnids_path)
        class_of = {wnid: i for i, wnid in enumerate(wnids)}
        names = self._read_names(words_path, wnids)
        train_paths, train_labels = [], []
        for wnid in wnids:
            images = self._images_in(folder / "train" / wnid / "images")
            train_paths += images
            train_labels += [class_of[wnid]] * len(images)
        test_paths, test_labels = self._read_annotations(annotations_path, folder / "val" / "images", class_of)
        return RawData(
            train_x=self._decode_all(train_paths),
            train_y=torch.tensor(train_labels, dtype=torch.int64),
            test_x=self._decode_all(test_paths),
            test_y=torch.tensor(test_labels, dtype=torch.int64),
            class_names=names,
        )

    def _fail(self, path: Path | str, problem: str) -> Exception:
        return data_error(self.name, path, problem, self.how_to_get)

    def _read_wnids(self, path: Path) -> list[str]:
        wnids = [line.strip() for line in self._read_lines(path) if line.strip()]
        if not wnids:
            raise self._fail(path, "lists no classes")
        repeated = sorted({w for w in wnids if wnids.count(w) > 1})
        if repeated:
            raise self._fail(path, f"lists {', '.join(repeated[:3])} more than once")
        return sorted(wnids)

    def _read_names(self, path: Path, wnids: list[str]) -> tuple[str, ...]:
        words = {}
        for line in self._read_lines(path):
            wnid, _tab, text = line.partition("\t")
            words[wnid.strip()] = text.split(",")[0].strip()
        return tuple(words.get(wnid) or wnid for wnid in wnids)

    def _read_annotations(self, path: Path, images: Path, class_of: dict[str, int]) -> tuple[list[Path], list[int]]:
        paths, labels = [], []
        for number, line in enumerate(self._read_lines(path), start=1):
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) < 2:
                raise self._fail(path, f"line {number} is not 'file<TAB>wnid...'")
            file_name, wnid = fields[0].strip(), fields[1].strip()
            if wnid not in class_of:
                raise self._fail(path, f"line {number} names class {wnid}, which is not in wnids.txt")
            image = images / file_name
            if not image.is_file():
                raise self._fail(image, f"missing (listed on line {number} of val_annotations.txt)")
            paths.append(image)
            labels.append(class_of[wnid])
        if not paths:
            raise self._fail(path, "lists no validation images")
        return paths, labels

    def _read_lines(self, path: Path) -> list[str]:
        try:
            return path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise self._fail(path, f"cannot be read as text ({error})") from None

    def _images_in(self, folder: Path) -> list[Path]:
        if not folder.is_dir():
            raise self._fail(folder, "no such folder (every class of wnids.txt needs train/<wnid>/images)")
        try:
            images = sorted(p for p in folder.iterdir() if p.suffix.lower() in JPEG_SUFFIXES)
        except OSError as error:
            raise self._fail(folder, f"cannot be listed ({error.strerror or error})") from None
        if not images:
            raise self._fail(folder, "holds no JPEG images")
        return images

    def _decode_all(self, paths: list[Path]) -> Tensor:
        out = torch.empty((len(paths), 3, IMAGE_SIZE, IMAGE_SIZE), dtype=torch.uint8)

        def decode_into(position: int) -> None:
            out[position] = self._decode_one(paths[position])

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=TORCHVISION_IO_DEPRECATION, category=DeprecationWarning)
            with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
                for _ in pool.map(decode_into, range(len(paths))):
                    pass
        return out

    def _decode_one(self, path: Path) -> Tensor:
        try:
            image = decode_image(read_file(str(path)), mode=ImageReadMode.RGB)
        except (RuntimeError, ValueError, OSError) as error:
            raise self._fail(path, f"is not a readable image ({' '.join(str(error).split())[:120]})") from None
        if tuple(image.shape) != (3, IMAGE_SIZE, IMAGE_SIZE):
            raise self._fail(path, f"is {image.shape[2]}x{image.shape[1]} pixels, expected {IMAGE_SIZE}x{IMAGE_SIZE}")
        return image
