"""Tiny COCO-format sets written by the tests (with COCO's quirks), the in-process CLI and a private cache.

Test modules reach the writer through the ``coco_files`` fixture (tests are imported in importlib mode, so they
cannot import this file).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy
import pytest
import torch
from PIL import Image

from sscl_core.cli.testing import sscl  # noqa: F401  (the CLI fixture)

CATEGORIES = (1, 3, 7, 10)
"""Category ids with gaps, as COCO's."""

SIZE = 64
"""Image side of the written sets."""

SETTINGS = [
    "device=cpu",
    "train.batch_size=1",
    "train.uratio=1",
    "train.eval_batch_size=8",
    "train.log_every=1",
    "model.rpn_pre_nms_train=50",
    "model.rpn_post_nms_train=20",
    "model.rpn_pre_nms_test=50",
    "model.rpn_post_nms_test=20",
    "model.rpn_batch=16",
    "model.box_batch=16",
]
"""Small detector sampling and batches for fast CPU tests."""


def write_coco(folder: Path, count: int, seed: int, quirks: bool = True) -> tuple[Path, Path]:
    """Write ``count`` PNG images of SIZE px and an instances file into ``folder``; with ``quirks``: a grey and
    an RGBA image, one in a subfolder, an image without annotations, a crowd box, a zero-area box, a box
    half outside its image and one wholly outside. Image i has a box of category CATEGORIES[i % 4] (and, for even
    i, one of the next category)."""
    images_dir = folder / "images"
    (images_dir / "sub").mkdir(parents=True, exist_ok=True)
    rng = numpy.random.default_rng(seed)
    images, annotations = [], []

    def box(image_id: int, category: int, bbox: list[float], crowd: int = 0) -> None:
        annotations.append(
            {
                "id": len(annotations) + 1,
                "image_id": image_id,
                "category_id": category,
                "bbox": bbox,
                "area": bbox[2] * bbox[3],
                "iscrowd": crowd,
            }
        )

    for i in range(count):
        image_id = 100 + i
        mode = "RGB"
        if quirks and i == 1:
            mode = "L"
        elif quirks and i == 2:
            mode = "RGBA"
        pixels = rng.integers(0, 256, size=(SIZE, SIZE, {"L": 1, "RGB": 3, "RGBA": 4}[mode]), dtype=numpy.uint8)
        name = f"sub/{i:03d}.png" if quirks and i == 3 else f"{i:03d}.png"
        Image.fromarray(pixels.squeeze(-1) if mode == "L" else pixels, mode).save(images_dir / name)
        images.append({"id": image_id, "file_name": name, "width": SIZE, "height": SIZE})
        if quirks and i == count - 1:
            continue
        box(image_id, CATEGORIES[i % 4], [4.0 + i % 8, 6.0, 20.0, 16.0])
        if i % 2 == 0:
            box(image_id, CATEGORIES[(i + 1) % 4], [30.0, 30.0, 18.0, 22.0])
    if quirks:
        box(100, CATEGORIES[1], [0.0, 40.0, 30.0, 20.0], crowd=1)
        box(101, CATEGORIES[0], [10.0, 10.0, 0.0, 5.0])
        box(104, CATEGORIES[0], [50.0, 50.0, 30.0, 30.0])
        box(105, CATEGORIES[0], [70.0, 70.0, 5.0, 5.0])
    categories = [{"id": c, "name": f"cat{c}"} for c in CATEGORIES]
    path = folder / "instances.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return path, images_dir


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Every test caches into one session folder (shapes are generated once), never into ~/.cache."""
    monkeypatch.setenv("SSCL_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "sscl-cache"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def coco_files(tmp_path):
    """``write(name, count=16, seed=0, quirks=True)``: a COCO set under tmp_path/name; also the constants."""

    def write(name: str, count: int = 16, seed: int = 0, quirks: bool = True) -> tuple[Path, Path]:
        return write_coco(tmp_path / name, count, seed, quirks)

    write.categories, write.size, write.settings = CATEGORIES, SIZE, SETTINGS
    return write
