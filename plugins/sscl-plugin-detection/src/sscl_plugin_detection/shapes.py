"""The synthetic ``shapes`` set: ten shape categories on textured backgrounds, 1-4 objects per image (the
:class:`Layout` sets how many, how big and whether they may overlap), written as
real COCO files (PNG images and an instances JSON) so it goes through the same reader as COCO itself.

Everything comes from a fixed seed, so the files are the same on every machine. Category ids have gaps
(1, 3, 5, ...) like COCO's.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import attrs
import numpy
from PIL import Image, ImageDraw

SHAPES = ("circle", "square", "triangle", "diamond", "cross", "ring", "star", "hbar", "vbar", "hexagon")
"""The category names, in id order."""


def _polygon(kind: str, cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    if kind == "triangle":
        angles = [90, 210, 330]
    elif kind == "diamond":
        angles = [0, 90, 180, 270]
    elif kind == "hexagon":
        angles = [0, 60, 120, 180, 240, 300]
    else:
        points = []
        for k in range(10):
            radius = r if k % 2 == 0 else r * 0.45
            a = math.radians(90 + 36 * k)
            points.append((cx + radius * math.cos(a), cy - radius * math.sin(a)))
        return points
    return [(cx + r * math.cos(math.radians(a)), cy - r * math.sin(math.radians(a))) for a in angles]


def _draw(draw: ImageDraw.ImageDraw, kind: str, cx: float, cy: float, r: float, fill: tuple[int, ...]) -> list[float]:
    """Draw one shape; returns its [x, y, width, height] box."""
    box = [cx - r, cy - r, cx + r, cy + r]
    if kind == "circle":
        draw.ellipse(box, fill=fill)
    elif kind == "square":
        draw.rectangle(box, fill=fill)
    elif kind == "ring":
        draw.ellipse(box, outline=fill, width=max(2, int(r / 3)))
    elif kind == "cross":
        t = r / 3
        draw.rectangle([cx - r, cy - t, cx + r, cy + t], fill=fill)
        draw.rectangle([cx - t, cy - r, cx + t, cy + r], fill=fill)
    elif kind == "hbar":
        box = [cx - r, cy - r / 3, cx + r, cy + r / 3]
        draw.rectangle(box, fill=fill)
    elif kind == "vbar":
        box = [cx - r / 3, cy - r, cx + r / 3, cy + r]
        draw.rectangle(box, fill=fill)
    else:
        points = _polygon(kind, cx, cy, r)
        draw.polygon(points, fill=fill)
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        box = [min(xs), min(ys), max(xs), max(ys)]
    return [box[0], box[1], box[2] - box[0], box[3] - box[1]]


def _background(rng: numpy.random.Generator, size: int) -> Image.Image:
    base = rng.integers(40, 200, size=3)
    noise = rng.normal(0, 18, size=(size, size, 3))
    yy, xx = numpy.mgrid[0:size, 0:size]
    period, angle = rng.uniform(6, 24), rng.uniform(0, math.pi)
    stripes = 20 * numpy.sin((xx * math.cos(angle) + yy * math.sin(angle)) * 2 * math.pi / period)
    pixels = numpy.clip(base + noise + stripes[..., None], 0, 255).astype(numpy.uint8)
    return Image.fromarray(pixels, "RGB")


@attrs.frozen
class Layout:
    """How objects are placed: at most ``objects`` per image (at least one), radius a share of the image side
    drawn from ``radius``, and with ``separate`` no two boxes of an image overlap (a place is drawn up to
    ``PLACEMENT_TRIES`` times; an object that finds none is left out)."""

    objects: int = 4
    radius: tuple[float, float] = (0.08, 0.2)
    separate: bool = False

    def key(self) -> str:
        """A suffix naming a non-default layout in cache folder names (empty for the default)."""
        if self == Layout():
            return ""
        low, high = self.radius
        return f"-{self.objects}obj-r{low:g}-{high:g}" + ("-sep" if self.separate else "")


PLACEMENT_TRIES = 50
"""Draws of a place for one object before ``Layout.separate`` gives up on it."""


def _overlaps(box: list[float], boxes: list[list[float]]) -> bool:
    x, y, w, h = box
    return any(x < bx + bw and bx < x + w and y < by + bh and by < y + h for bx, by, bw, bh in boxes)


def _place(rng: numpy.random.Generator, size: int, layout: Layout, boxes: list[list[float]]):
    """Radius and centre of the next object, or None when ``layout.separate`` finds no free place."""
    for _ in range(PLACEMENT_TRIES if layout.separate else 1):
        r = float(rng.uniform(size * layout.radius[0], size * layout.radius[1]))
        cx, cy = (float(v) for v in rng.uniform(r, size - r, size=2))
        if not layout.separate or not _overlaps([cx - r, cy - r, 2 * r, 2 * r], boxes):
            return r, cx, cy
    return None


def write_shapes(
    folder: Path, count: int, size: int, categories: int, seed: int, layout: Layout = Layout()
) -> tuple[Path, Path]:
    """Write ``count`` images and ``instances.json`` into ``folder`` unless they are there; returns the JSON's
    path and the image folder."""
    json_path, image_dir = folder / "instances.json", folder / "images"
    if json_path.is_file():
        return json_path, image_dir
    image_dir.mkdir(parents=True, exist_ok=True)
    rng = numpy.random.default_rng(seed)
    images, annotations = [], []
    for i in range(count):
        picture = _background(rng, size)
        draw = ImageDraw.Draw(picture)
        placed: list[list[float]] = []
        for _ in range(int(rng.integers(1, layout.objects + 1))):
            category = int(rng.integers(0, categories))
            where = _place(rng, size, layout, placed)
            if where is None:
                continue
            r, cx, cy = where
            placed.append([cx - r, cy - r, 2 * r, 2 * r])
            fill = tuple(int(v) for v in rng.integers(0, 256, size=3))
            x, y, w, h = _draw(draw, SHAPES[category], cx, cy, r, fill)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": i + 1,
                    "category_id": 2 * category + 1,
                    "bbox": [x, y, w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
        name = f"{i:05d}.png"
        picture.save(image_dir / name)
        images.append({"id": i + 1, "file_name": name, "width": size, "height": size})
    cats = [{"id": 2 * c + 1, "name": SHAPES[c]} for c in range(categories)]
    temporary = folder / f"instances.json.{os.getpid()}.tmp"
    temporary.write_text(json.dumps({"images": images, "annotations": annotations, "categories": cats}))
    os.replace(temporary, json_path)
    return json_path, image_dir
