"""The uint8 cache of a COCO image set: every image decoded once, resized, into one file read through a memmap.

A cache folder holds ``images.u8`` (the images' bytes one after another, each (3, H, W)) and ``index.json``
(the signature of what was decoded, each image's shape and offset); it is written to temporary names and
renamed, ``index.json`` last, so a cache without an index is rebuilt. An iteration then reads plain uint8
tensors and never decodes an image file.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy
import torch
import torchvision.transforms.v2.functional as TF
from torch import Tensor

from sscl_plugin_datasets.errors import data_error
from sscl_plugin_datasets.image_decode import UnreadableImage, read_image
from sscl_plugin_detection.coco_reader import CocoImage

INDEX = "index.json"
"""The cache's index, written last."""


def resized_size(height: int, width: int, short: int, longest: int) -> tuple[int, int]:
    """(height, width) with the shorter side ``short`` unless the longer would exceed ``longest``."""
    scale = min(short / min(height, width), longest / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


class CachedImages(Sequence):
    """uint8 (3, H, W) images of one cache, by position (a slice gives a list)."""

    def __init__(self, data: numpy.ndarray, shapes: list[tuple[int, int, int]], offsets: list[int]) -> None:
        self._data, self._shapes, self._offsets = data, shapes, offsets

    def __len__(self) -> int:
        """Number of images."""
        return len(self._shapes)

    def __getitem__(self, index: int | slice) -> Tensor | list[Tensor]:
        """Image ``index`` (a copy), or a list of them for a slice."""
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        shape, start = self._shapes[index], self._offsets[index]
        count = int(numpy.prod(shape))
        return torch.from_numpy(numpy.array(self._data[start : start + count])).view(*shape)

    def subset(self, positions: Sequence[int]) -> CachedImages:
        """The images at ``positions``, sharing this cache's memory map."""
        return CachedImages(self._data, [self._shapes[p] for p in positions], [self._offsets[p] for p in positions])


def _decode(image: CocoImage, short: int, longest: int, dataset: str) -> Tensor:
    if not image.path.is_file():
        raise data_error(dataset, image.path, "does not exist", "put the image there or fix its file_name")
    try:
        pixels = read_image(image.path, 3)
    except UnreadableImage as error:
        raise data_error(
            dataset, image.path, str(error), "replace the file or remove the image from the JSON"
        ) from None
    size = resized_size(pixels.shape[1], pixels.shape[2], short, longest)
    if size != tuple(pixels.shape[1:]):
        pixels = TF.resize(pixels, list(size), antialias=True)
    return pixels.contiguous()


def open_images(
    folder: Path, images: list[CocoImage], short: int, longest: int, dataset: str
) -> tuple[CachedImages, list[tuple[float, float]]]:
    """The cached images of ``images`` (decoded into ``folder`` on first use) and each one's (x, y) scale from
    the size the instances file states to the cached size."""
    signature = hashlib.sha256(
        json.dumps([[str(i.path), i.width, i.height] for i in images] + [short, longest]).encode()
    ).hexdigest()
    index_path = folder / INDEX
    index = json.loads(index_path.read_text()) if index_path.is_file() else None
    if index is None or index.get("signature") != signature:
        folder.mkdir(parents=True, exist_ok=True)
        print(f"{dataset}: decoding {len(images)} images into {folder} (later runs reuse them)", file=sys.stderr)
        shapes, offsets, offset = [], [], 0
        temporary = folder / f"images.u8.{os.getpid()}.tmp"
        with temporary.open("wb") as out:
            for image in images:
                pixels = _decode(image, short, longest, dataset)
                out.write(pixels.numpy().tobytes())
                shapes.append(list(pixels.shape))
                offsets.append(offset)
                offset += pixels.numel()
        os.replace(temporary, folder / "images.u8")
        index = {"signature": signature, "shapes": shapes, "offsets": offsets}
        written = folder / f"{INDEX}.{os.getpid()}.tmp"
        written.write_text(json.dumps(index))
        os.replace(written, index_path)
    shapes = [tuple(s) for s in index["shapes"]]
    data = numpy.memmap(folder / "images.u8", dtype=numpy.uint8, mode="r") if shapes else numpy.zeros(0, numpy.uint8)
    scales = [(s[2] / i.width, s[1] / i.height) for s, i in zip(shapes, images, strict=True)]
    return CachedImages(data, shapes, index["offsets"]), scales
