"""Reading a COCO-format instances file: images, categories and boxes, checked, with COCO's quirks handled.

Category ids may have gaps (they are kept as they are here; the stream maps them to labels 1..K). Crowd
annotations are kept with their flag (training ignores them, COCOeval ignores detections on them). Boxes are
clipped to their image; a box with no area left is dropped; both are counted for one warning. ``file_name``
may name a subfolder of the image folder. Any problem of the file is one :class:`SsclError` line naming it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import attrs

from sscl_plugin_datasets.errors import data_error

FIX = "give a COCO instances file (images, annotations, categories)"
"""What the error messages about a malformed instances file ask for."""


@attrs.define
class CocoImage:
    """One image of the file: its id, its path and its size as the file states it."""

    id: int
    path: Path
    width: int
    height: int


@attrs.define
class CocoBox:
    """One annotation: an ``x1, y1, x2, y2`` box in the image's pixels, its category id, crowd flag and area."""

    box: tuple[float, float, float, float]
    category: int
    iscrowd: bool
    area: float


@attrs.define
class CocoSet:
    """An instances file as read: images in file order, each image's boxes, the categories (id -> name)."""

    images: list[CocoImage]
    boxes: dict[int, list[CocoBox]]
    categories: dict[int, str]
    clipped: int = 0
    dropped: int = 0


def _load(path: Path, dataset: str) -> dict[str, Any]:
    if not path.is_file():
        raise data_error(dataset, path, "does not exist", "set the path of an instances JSON file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise data_error(dataset, path, f"is not valid JSON ({str(error)[:80]})", FIX) from None
    if not isinstance(data, dict):
        raise data_error(dataset, path, "is not a JSON object", FIX)
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise data_error(dataset, path, f"has no list '{key}'", FIX)
    return data


def _number(entry: dict[str, Any], key: str, where: str, dataset: str, path: Path) -> Any:
    value = entry.get(key) if isinstance(entry, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise data_error(dataset, path, f"{where} has no numeric '{key}'", FIX)
    return value


def read_coco(path: Path, image_dir: Path, dataset: str) -> CocoSet:
    """The images, boxes and categories of the instances file ``path`` whose images lie in ``image_dir``."""
    data = _load(path, dataset)
    categories: dict[int, str] = {}
    for i, entry in enumerate(data["categories"]):
        cid = int(_number(entry, "id", f"categories[{i}]", dataset, path))
        categories[cid] = str(entry.get("name", cid))
    images, seen = [], set()
    for i, entry in enumerate(data["images"]):
        image_id = int(_number(entry, "id", f"images[{i}]", dataset, path))
        width = int(_number(entry, "width", f"images[{i}]", dataset, path))
        height = int(_number(entry, "height", f"images[{i}]", dataset, path))
        name = entry.get("file_name")
        if not isinstance(name, str) or not name:
            raise data_error(dataset, path, f"images[{i}] has no 'file_name'", FIX)
        if image_id in seen:
            raise data_error(dataset, path, f"images[{i}] repeats image id {image_id}", "give each image its own id")
        seen.add(image_id)
        images.append(CocoImage(image_id, image_dir / name, width, height))
    sizes = {image.id: (image.width, image.height) for image in images}
    boxes: dict[int, list[CocoBox]] = {image.id: [] for image in images}
    clipped = dropped = 0
    for i, entry in enumerate(data["annotations"]):
        where = f"annotations[{i}]"
        image_id = int(_number(entry, "image_id", where, dataset, path))
        category = int(_number(entry, "category_id", where, dataset, path))
        bbox = entry.get("bbox")
        if (
            not isinstance(bbox, list)
            or len(bbox) != 4
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in bbox)
        ):
            raise data_error(dataset, path, f"{where} has no 'bbox' [x, y, width, height]", FIX)
        if image_id not in sizes:
            raise data_error(dataset, path, f"{where} names image id {image_id}, which 'images' lacks", FIX)
        if category not in categories:
            raise data_error(dataset, path, f"{where} names category id {category}, which 'categories' lacks", FIX)
        width, height = sizes[image_id]
        x, y, w, h = (float(v) for v in bbox)
        box = (max(0.0, x), max(0.0, y), min(float(width), x + w), min(float(height), y + h))
        if box[2] - box[0] <= 0 or box[3] - box[1] <= 0:
            dropped += 1
            continue
        clipped += box != (x, y, x + w, y + h)
        area = float(entry["area"]) if isinstance(entry.get("area"), (int, float)) else w * h
        boxes[image_id].append(CocoBox(box, category, bool(entry.get("iscrowd", 0)), area))
    return CocoSet(images, boxes, categories, clipped, dropped)
