"""The detection datasets: ``coco`` (any COCO-format instances file and image folder) and ``shapes`` (a
synthetic COCO-format set the plugin writes on first use), both read through the same reader and cache."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any, ClassVar

import attrs
import torch

from sscl_core import Dataset, TaskStream, component, param
from sscl_core.api.validators import fraction
from sscl_plugin_datasets.image_folder import cache_folder
from sscl_plugin_detection import PROBLEM
from sscl_plugin_detection.coco_reader import CocoSet, read_coco
from sscl_plugin_detection.image_store import open_images
from sscl_plugin_detection.shapes import Layout, write_shapes
from sscl_plugin_detection.stream import ImageSet, build_stream, category_groups
from sscl_plugin_detection.views import DetectionViews


def _scale_range(_instance: Any, attribute: Any, value: Any) -> None:
    if not (isinstance(value, (list, tuple)) and len(value) == 2 and 0 < value[0] <= value[1]):
        raise ValueError(f"{attribute.name} must be [low, high] with 0 < low <= high, got {value!r}")


def _radius(_instance: Any, attribute: Any, value: Any) -> None:
    if not (isinstance(value, (list, tuple)) and len(value) == 2 and 0 < value[0] <= value[1] <= 0.5):
        raise ValueError(f"{attribute.name} must be [low, high] with 0 < low <= high <= 0.5, got {value!r}")


@component
class CocoFormatDataset(Dataset):
    """Base class of the COCO-format streams: the split, image-size and view settings they share."""

    name = "coco-format"
    problem: ClassVar[str] = PROBLEM
    default_model: ClassVar[dict[str, Any]] = {"name": "fasterrcnn-mobilenet"}
    default_evaluator: ClassVar[dict[str, Any]] = {"name": "coco-map"}
    scenario: str = param("class-il", help="continual scenario (detection scores each task's categories)")
    tasks: int = param(5, help="number of tasks: equal groups of the category ids", validator=attrs.validators.ge(1))
    task_categories: list[list[int]] | None = param(None, help="explicit category ids of each task (overrides tasks)")
    category_order: list[int] | None = param(None, help="order of the category ids before grouping (null: ascending)")
    labeled_fraction: float = param(
        0.01, help="share of each task's training images that is labeled", validator=fraction
    )
    labeled_images: list[int] | None = param(None, help="explicit labeled image ids (overrides labeled_fraction)")
    holdout: float = param(0.1, help="share of training images held out for validation when no validation pair is set")
    image_size: int = param(
        800, help="shorter image side of the cache and the test view", validator=attrs.validators.ge(16)
    )
    max_image_size: int = param(1333, help="longest image side of the cache", validator=attrs.validators.ge(16))
    scale_range: list[float] = param(
        [0.75, 1.25], help="random resize factors of the weak and strong views", validator=_scale_range
    )
    cache_dir: str | None = param(
        None, help="where decoded images are cached (null: $SSCL_CACHE_DIR, else .cache in the run's output folder)"
    )

    def sources(self) -> tuple[Path, Path, tuple[Path, Path] | None]:
        """The training instances file and image folder, and the validation pair (None: a held-out share)."""
        raise NotImplementedError

    def cache_folder(self) -> Path:
        """The folder under which this dataset keeps its caches (see :func:`cache_folder`)."""
        return cache_folder(self.cache_dir, self.cache_root)

    def _image_set(self, json_path: Path, image_dir: Path) -> tuple[CocoSet, Any, Any]:
        coco = read_coco(json_path, image_dir, self.name)
        if coco.clipped or coco.dropped:
            print(
                f"{self.name}: {json_path}: {coco.clipped} boxes clipped to their image, {coco.dropped} dropped "
                "(no area inside the image)",
                file=sys.stderr,
            )
        key = hashlib.sha256(json.dumps([str(json_path.resolve()), str(image_dir.resolve())]).encode()).hexdigest()
        folder = self.cache_folder() / "detection" / key[:16]
        pixels, scales = open_images(folder, coco.images, self.image_size, self.max_image_size, self.name)
        return coco, pixels, scales

    def build_stream(self, seed: int) -> TaskStream:
        """Read the instances files, decode their images once into the cache and split them into tasks."""
        train_json, train_dir, val_pair = self.sources()
        coco, pixels, scales = self._image_set(train_json, train_dir)
        everything = list(range(len(coco.images)))
        if val_pair is None:
            order = torch.randperm(len(everything), generator=torch.Generator().manual_seed(0)).tolist()
            cut = round(self.holdout * len(order))
            val = ImageSet(coco, pixels, scales, sorted(order[:cut]))
            train = ImageSet(coco, pixels, scales, sorted(order[cut:]))
        else:
            train = ImageSet(coco, pixels, scales, everything)
            val_coco, val_pixels, val_scales = self._image_set(*val_pair)
            val = ImageSet(val_coco, val_pixels, val_scales, list(range(len(val_coco.images))))
        where = f"dataset '{self.name}'"
        groups = category_groups(coco, self.tasks, self.task_categories, self.category_order, where)
        views = DetectionViews(scale_range=tuple(self.scale_range))
        return build_stream(
            train,
            val,
            groups,
            self.labeled_fraction,
            self.labeled_images,
            seed,
            self.scenario,
            views,
            self.image_size,
            where,
        )


@component
class Coco(CocoFormatDataset):
    """A COCO-format dataset on disk: an instances JSON with its image folder, and optionally a validation pair."""

    name = "coco"
    annotations: str = param("", help="path of the training instances JSON (e.g. instances_train2017.json)")
    images: str = param("", help="folder of the training images (file_name is relative to it)")
    val_annotations: str | None = param(None, help="validation instances JSON (null: hold out a share)")
    val_images: str | None = param(None, help="folder of the validation images")

    def sources(self) -> tuple[Path, Path, tuple[Path, Path] | None]:
        """The configured paths."""
        val = None
        if self.val_annotations is not None:
            val = (Path(self.val_annotations).expanduser(), Path(self.val_images or self.images).expanduser())
        return Path(self.annotations).expanduser(), Path(self.images).expanduser(), val


@component
class Shapes(CocoFormatDataset):
    """Synthetic shapes on textured backgrounds in COCO format, written into the cache on first use (no download)."""

    name = "shapes"
    labeled_fraction: float = param(
        0.1, help="share of each task's training images that is labeled", validator=fraction
    )
    image_size: int = param(128, help="image side of the generated images", validator=attrs.validators.ge(16))
    max_image_size: int = param(128, help="longest image side of the cache", validator=attrs.validators.ge(16))
    train_images: int = param(600, help="generated training images", validator=attrs.validators.ge(1))
    val_count: int = param(150, help="generated validation images", validator=attrs.validators.ge(1))
    categories: int = param(10, help="shape categories (at most 10)", validator=attrs.validators.in_(range(1, 11)))
    objects: int = param(4, help="most objects per image (at least one)", validator=attrs.validators.ge(1))
    object_radius: list[float] = param(
        [0.08, 0.2], help="[low, high] object radius as a share of the image side", validator=_radius
    )
    separate: bool = param(False, help="objects of an image never overlap (one that finds no place is left out)")

    def sources(self) -> tuple[Path, Path, tuple[Path, Path] | None]:
        """The generated training and validation pairs (written once per setting)."""
        layout = Layout(self.objects, (float(self.object_radius[0]), float(self.object_radius[1])), self.separate)
        settings = f"v1-{self.image_size}px-{self.categories}cats-{self.train_images}-{self.val_count}{layout.key()}"
        root = self.cache_folder() / "shapes" / settings
        train = write_shapes(root / "train", self.train_images, self.image_size, self.categories, 1, layout)
        val = write_shapes(root / "val", self.val_count, self.image_size, self.categories, 2, layout)
        return train[0], train[1], val
