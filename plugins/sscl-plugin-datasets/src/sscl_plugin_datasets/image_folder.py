"""Your own images: the torchvision ImageFolder layout (``root/<class>/<images>``) as a split-semi stream.

Optional: a folder of images without a class that join the unlabeled pool of every task (or, in a subfolder named
by a task number, of that task), and a separate test folder of the same layout (else a seeded share of each class
is held out). Images are decoded once, resized and centre-cropped to ``image_size`` if set, into an on-disk cache
(:mod:`sscl_plugin_datasets.image_cache`) beside the runs (``<output_dir>/.cache``) that later runs reuse while no
file's name, size or modification time changed; tasks read the rows a batch needs from the cache file, so a
folder larger than RAM works.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from sscl_core import SsclError, component, param
from sscl_plugin_datasets.files import dataset_root
from sscl_plugin_datasets.image_cache import ImageCache, broken_image, open_cache
from sscl_plugin_datasets.image_decode import fit, read_image
from sscl_plugin_datasets.image_files import (
    FolderLayout,
    ImageEntry,
    choose_classes,
    class_folders,
    class_images,
    extra_images,
    held_out,
)
from sscl_plugin_datasets.image_rows import CachedRows
from sscl_plugin_datasets.split import NO_CLASS, RawData, SplitSemiDataset

HOW_TO_GET = "set dataset.root to a folder of class folders, each holding that class's images (root/<class>/<images>)"
"""The end of every error about a missing root."""


def _image_size(_instance: Any, attribute: Any, value: Any) -> None:
    sides = [value] if isinstance(value, int) else value
    if value is None:
        return
    if (
        isinstance(value, bool)
        or not isinstance(sides, list)
        or len(sides) not in (1, 2)
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in sides)
    ):
        raise ValueError(f"{attribute.name} must be a side in pixels or [height, width], got {value!r}")


def _channels(_instance: Any, attribute: Any, value: Any) -> None:
    if value not in (1, 3) or isinstance(value, bool):
        raise ValueError(f"{attribute.name} must be 1 (grey) or 3 (RGB), got {value!r}")


def _strict_share(_instance: Any, attribute: Any, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(f"{attribute.name} must lie strictly between 0 and 1, got {value!r}")


def _constants(_instance: Any, attribute: Any, value: Any) -> None:
    if value is not None and (not value or not all(isinstance(v, (int, float)) for v in value)):
        raise ValueError(f"{attribute.name} must be a list of numbers, one per channel, or null, got {value!r}")


def default_cache_root() -> Path:
    """``$SSCL_CACHE_DIR``, else ``$XDG_CACHE_HOME/sscl``, else ``~/.cache/sscl``: the user's cache folder."""
    if os.environ.get("SSCL_CACHE_DIR"):
        return Path(os.environ["SSCL_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(base).expanduser() / "sscl"


def cache_folder(cache_dir: str | None, run_cache: Path | None) -> Path:
    """Where a dataset keeps what it derives: its ``cache_dir`` field, else ``$SSCL_CACHE_DIR``, else the run's
    ``Dataset.cache_root`` (``.cache`` beside the runs), else (outside a run) the user's cache folder."""
    if cache_dir:
        return Path(cache_dir).expanduser()
    if os.environ.get("SSCL_CACHE_DIR") or run_cache is None:
        return default_cache_root()
    return run_cache


@component
class ImageFolder(SplitSemiDataset):
    """Images in class folders (root/<class>/*.png|jpg|jpeg|bmp|webp), with optional unlabeled and test folders."""

    name = "image-folder"

    root: str | None = param(None, help="folder of class folders, each holding that class's images; required")
    classes: list[str] | None = param(
        None, help="class folder names in class-id order (null: every folder of root, sorted by name)"
    )
    unlabeled_root: str | None = param(
        None,
        help="folder of images without a class: those directly in it join every task's unlabeled pool, those in "
        "a subfolder named by a task number (0, 1, ...) that task's",
    )
    test_root: str | None = param(
        None, help="folder of test images in class folders (null: hold out test_share of each class)"
    )
    test_share: float = param(
        0.2, help="share of each class held out as test images without test_root", validator=_strict_share
    )
    split_seed: int = param(0, help="seed of the held-out choice (not the run seed: the split stays fixed)")
    image_size: int | list[int] | None = param(
        None,
        help="side (or [height, width]) every image is resized to, keeping its aspect ratio, then centre-cropped "
        "(null: images kept as they are; all must then have the same size)",
        validator=_image_size,
    )
    channels: int = param(3, help="1 (grey) or 3 (RGB): every image is converted to it", validator=_channels)
    image_mean: list[float] | None = param(
        None, help="per-channel mean in [0, 1] to normalize with (null: the training images' own)", validator=_constants
    )
    image_std: list[float] | None = param(
        None, help="per-channel standard deviation in [0, 1] (null: the training images' own)", validator=_constants
    )
    cache_dir: str | None = param(
        None,
        help="where the decoded images are cached (null: $SSCL_CACHE_DIR, else .cache in the run's output folder, "
        "beside the runs)",
    )
    skip_broken: bool = param(False, help="leave out images that cannot be decoded (counted) instead of stopping")

    def load_data(self) -> RawData:
        """Decode the folders into the cache (or open the cache they already have); its rows stay on disk."""
        layout = self._layout()
        settings = json.dumps(self._settings(), sort_keys=True)
        key = hashlib.sha256(settings.encode()).hexdigest()[:16]
        folder = cache_folder(self.cache_dir, self.cache_root) / "image-folder" / key
        cache = open_cache(
            folder,
            layout.signature(settings),
            [e.path for e in layout.entries],
            layout.train_entries,
            self._decode,
            self.name,
            self.skip_broken,
        )
        self._report_broken(cache, len(layout.entries))
        left_out = {position for position, _text in cache.broken}
        kept = [e for i, e in enumerate(layout.entries) if i not in left_out]
        train = [e for e in kept if e.role != "test"]
        test = [e for e in kept if e.role == "test"]
        self._cache = cache
        has_extras = any(e.label == NO_CLASS for e in train)
        return RawData(
            train_x=cache.images.subset(slice(None, len(train))),
            train_y=torch.tensor([e.label for e in train], dtype=torch.int64),
            test_x=cache.images.subset(slice(len(train), None)),
            test_y=torch.tensor([e.label for e in test], dtype=torch.int64),
            class_names=layout.class_names,
            extra_task=torch.tensor([e.task for e in train], dtype=torch.int64) if has_extras else None,
        )

    def normalization(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """``image_mean`` and ``image_std`` if set, else those of the training images (computed with the cache)."""
        mean = tuple(self.image_mean) if self.image_mean is not None else self._cache.mean
        std = tuple(self.image_std) if self.image_std is not None else self._cache.std
        for values, field in ((mean, "image_mean"), (std, "image_std")):
            if len(values) != self.channels:
                raise SsclError(f"{self.name}: {field} has {len(values)} values, but channels={self.channels}")
        return mean, std

    def take(self, part: str, images: CachedRows, index: Tensor) -> CachedRows:
        """The images ``index`` of ``images``, still on disk: a batch reads its rows from the cache file."""
        return images.subset(index)

    def _folder(self, value: str | None, field: str) -> Path | None:
        if value is None:
            return None
        path = Path(value).expanduser()
        if not path.is_dir():
            raise SsclError(f"{self.name}: {path}: no such folder (dataset.{field})")
        return path

    def _layout(self) -> FolderLayout:
        root = dataset_root(self.name, self.root, HOW_TO_GET)
        unlabeled = self._folder(self.unlabeled_root, "unlabeled_root")
        test_root = self._folder(self.test_root, "test_root")
        found = class_folders(root, self.name, skip=unlabeled)
        classes = choose_classes(found, self.classes, root, self.name)
        images = class_images(found, classes, self.name, "root")
        if test_root is None:
            is_test = held_out(images, len(classes), self.test_share, self.split_seed, self.name)
            test = [ImageEntry(p, "test", c) for (p, c), t in zip(images, is_test, strict=True) if t]
            train = [ImageEntry(p, "train", c) for (p, c), t in zip(images, is_test, strict=True) if not t]
        else:
            test_folders = class_folders(test_root, self.name)
            unknown = sorted(set(test_folders) - set(found))
            if unknown and self.classes is None:
                raise SsclError(f"{self.name}: {test_root / unknown[0]}: test_root has a class folder that root lacks")
            test = [ImageEntry(p, "test", c) for p, c in class_images(test_folders, classes, self.name, "test_root")]
            train = [ImageEntry(p, "train", c) for p, c in images]
        extras = extra_images(unlabeled, self.name) if unlabeled is not None else []
        return FolderLayout(entries=(*train, *extras, *test), class_names=tuple(classes))

    def _settings(self) -> dict[str, Any]:
        def where(value: str | None) -> str | None:
            return str(Path(value).expanduser().resolve()) if value is not None else None

        held = {"test_share": self.test_share, "split_seed": self.split_seed} if self.test_root is None else {}
        return {
            "root": where(self.root),
            "unlabeled_root": where(self.unlabeled_root),
            "test_root": where(self.test_root),
            "classes": self.classes,
            "image_size": self.image_size,
            "channels": self.channels,
            **held,
        }

    def _decode(self, path: str) -> Tensor:
        image = read_image(path, self.channels)
        if self.image_size is None:
            return image
        sides = [self.image_size] if isinstance(self.image_size, int) else self.image_size
        return fit(image, (sides[0], sides[-1]))

    def _report_broken(self, cache: ImageCache, total: int) -> None:
        if not cache.broken:
            return
        first = cache.broken[0][1]
        if not self.skip_broken:
            raise broken_image(self.name, first)
        count = len(cache.broken)
        plural = "s" if count > 1 else ""
        print(f"{self.name}: skipped {count} unreadable image{plural} of {total} (first: {first})", file=sys.stderr)
