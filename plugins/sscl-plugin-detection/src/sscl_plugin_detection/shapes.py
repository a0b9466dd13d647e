"""The synthetic ``shapes`` set: ten shape categories on textured backgrounds, 1-4 objects per image, written as
real COCO files (PNG images and an instances JSON) so it goes through the same reader as COCO itself.

Everything comes from a fixed seed, so the files are the same on every machine. Category ids have gaps
(1, 3, 5, ...) like COCO's.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

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


def write_shapes(folder: Path, count: int, size: int, categories: int, seed: int) -> tuple[Path, Path]:
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
        for _ in range(int(rng.integers(1, 5))):
            category = int(rng.integers(0, categories))
            r = float(rng.uniform(size * 0.08, size * 0.2))
            cx, cy = (float(v) for v in rng.uniform(r, size - r, size=2))
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
