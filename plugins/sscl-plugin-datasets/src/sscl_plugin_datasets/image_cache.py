"""The on-disk cache of a decoded image folder: one uint8 file of rows (C, H, W), read with ``os.pread``.

A cache folder holds ``index.json`` (format, the folder's signature, the token naming the image file, the image
shape, the rows, the skipped files and the training images' per-channel statistics) and ``images-<token>.u8``
(the rows, in entry order, without the skipped files). Images are written through ordinary file writes, so
building a cache needs memory for one chunk, not for the folder; the images handed out are
:class:`~sscl_plugin_datasets.image_rows.CachedRows`, read from the file when a batch needs them and never
mapped, so memory holds the index. The build runs under a lock file, so concurrent runs on the same folder
decode it once.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import attrs
import numpy
import torch
from torch import Tensor

from sscl_core import SsclError
from sscl_plugin_datasets.image_decode import UnreadableImage
from sscl_plugin_datasets.image_rows import CachedRows, RowFile

CACHE_FORMAT = 1
"""Version of the cache layout; a cache of another version is rebuilt."""

CHUNK_BYTES = 1 << 20
"""Decoded bytes per chunk written at once while building."""

INDEX_FILE = "index.json"
"""The cache's index, written last (atomically): a cache without it is rebuilt."""


@attrs.define(eq=False)
class ImageCache:
    """An opened cache: its rows, read on demand, and what the index says about them."""

    shape: tuple[int, int, int]
    rows: int
    broken: list[tuple[int, str]]
    """(entry position, "path: problem") of every file that could not be decoded and was left out."""
    mean: tuple[float, ...]
    std: tuple[float, ...]
    images: CachedRows = attrs.field(repr=False)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:
        yield
        return
    with (folder / "lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def open_cache(
    folder: Path,
    signature: str,
    paths: list[str],
    train_entries: int,
    decode: Callable[[str], Tensor],
    dataset: str,
    skip_broken: bool,
) -> ImageCache:
    """The cache in ``folder`` when its index matches ``signature``, else a new one decoded from ``paths``.

    ``decode`` turns a path into a uint8 (C, H, W) image and raises :class:`UnreadableImage` for a broken file
    (an SsclError naming it, or left out and recorded when ``skip_broken``) or SsclError for anything else; every
    image must have the first one's shape. The first ``train_entries`` paths are the training images, whose
    per-channel mean and standard deviation the index records.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SsclError(f"{dataset}: {folder}: cannot create the cache folder ({error.strerror})") from None
    with _locked(folder):
        index = _read_index(folder / INDEX_FILE)
        if (
            index is None
            or index.get("format") != CACHE_FORMAT
            or index.get("signature") != signature
            or not (folder / f"images-{index.get('token')}.u8").is_file()
        ):
            print(f"{dataset}: decoding {len(paths)} images into {folder} (later runs reuse them)", file=sys.stderr)
            index = _build(folder, signature, paths, train_entries, decode, dataset, skip_broken)
        images_path = folder / f"images-{index['token']}.u8"
        try:
            file = RowFile(images_path, tuple(index["shape"]))
        except OSError as error:
            raise SsclError(f"{dataset}: {images_path}: cannot be read ({error.strerror}); delete {folder}") from None
        for pool in folder.glob("pool-*.u8"):  # per-task copies the earlier, memory-mapped layout wrote
            pool.unlink(missing_ok=True)
    return ImageCache(
        shape=file.shape,
        rows=index["rows"],
        broken=[(int(p), str(text)) for p, text in index["broken"]],
        mean=tuple(index["mean"]),
        std=tuple(index["std"]),
        images=CachedRows(file, numpy.arange(index["rows"], dtype=numpy.int64)),
    )


def broken_image(dataset: str, problem: str) -> SsclError:
    """The one-line error about an image that cannot be decoded (``problem``: "path: what is wrong")."""
    return SsclError(f"{dataset}: {problem}; fix or remove it, or set dataset.skip_broken=true")


def _read_index(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _build(
    folder: Path,
    signature: str,
    paths: list[str],
    train_entries: int,
    decode: Callable[[str], Tensor],
    dataset: str,
    skip_broken: bool,
) -> dict:
    token = secrets.token_hex(8)
    temporary = folder / f"images-{token}.u8.tmp"
    broken: list[tuple[int, str]] = []
    sums, squares, pixels, rows, shape = None, None, 0, 0, None

    def decode_one(position: int) -> Tensor | str:
        try:
            return decode(paths[position])
        except UnreadableImage as error:
            return f"{paths[position]}: {error}"

    try:
        with temporary.open("wb") as out, ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
            chunk = 1
            start = 0
            while start < len(paths):
                stop = min(len(paths), start + chunk)
                for position, image in zip(range(start, stop), pool.map(decode_one, range(start, stop)), strict=True):
                    if isinstance(image, str):
                        if not skip_broken:
                            raise broken_image(dataset, image)
                        broken.append((position, image))
                        continue
                    if shape is not None and tuple(image.shape) != shape:
                        raise SsclError(
                            f"{dataset}: {paths[position]}: is {image.shape[2]}x{image.shape[1]} pixels with "
                            f"{image.shape[0]} channels, but the first image is {shape[2]}x{shape[1]} with {shape[0]}: "
                            "set dataset.image_size to resize every image"
                        )
                    if shape is None:
                        shape = tuple(image.shape)
                        sums, squares = [0] * shape[0], [0] * shape[0]
                        chunk = max(1, CHUNK_BYTES // image.numel())
                    if position < train_entries:
                        wide = image.to(torch.int64)
                        sums = [s + int(v) for s, v in zip(sums, wide.sum(dim=(1, 2)), strict=True)]
                        squares = [s + int(v) for s, v in zip(squares, (wide * wide).sum(dim=(1, 2)), strict=True)]
                        pixels += image.shape[1] * image.shape[2]
                    out.write(numpy.ascontiguousarray(image.numpy()))
                    rows += 1
                start = stop
        if shape is None:
            raise SsclError(f"{dataset}: none of the {len(paths)} images could be read (first: {broken[0][1]})")
        os.replace(temporary, folder / f"images-{token}.u8")
    finally:
        temporary.unlink(missing_ok=True)
    mean = [s / pixels / 255.0 for s in sums] if pixels else [0.5] * shape[0]
    std = [max(q / pixels / 65025.0 - m * m, 0.0) ** 0.5 if pixels else 0.5 for q, m in zip(squares, mean, strict=True)]
    index = {
        "format": CACHE_FORMAT,
        "signature": signature,
        "token": token,
        "shape": list(shape),
        "rows": rows,
        "broken": broken,
        "mean": mean,
        "std": [s if s > 1e-6 else 1.0 for s in std],
    }
    written = folder / f"{INDEX_FILE}.{token}.tmp"
    written.write_text(json.dumps(index), encoding="utf-8")
    os.replace(written, folder / INDEX_FILE)
    for old in folder.glob("*.u8"):
        if f"-{token}" not in old.name:
            old.unlink(missing_ok=True)
    return index
