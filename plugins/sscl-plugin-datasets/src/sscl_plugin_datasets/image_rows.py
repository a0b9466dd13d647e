"""Images that stay on disk: rows of a uint8 file, read on demand with ``os.preadv`` and indexed like a tensor.

:class:`CachedRows` is what an image-folder task holds as its images: the positions of its rows in the cache's
image file. Indexing it (an int, a slice, a list, an index or bool tensor) reads exactly those rows, in offset
order with neighbouring rows in one read, straight into a new tensor. Nothing is mapped, so the process holds the
positions and the rows being read, never the file's pages: those stay in the kernel's page cache, outside the
process's RSS.
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path
from typing import Any

import numpy
import torch
from torch import Tensor

from sscl_core import SsclError


class RowFile:
    """An open file of uint8 rows of one ``shape`` (C, H, W); closed when nothing refers to it any more."""

    def __init__(self, path: Path, shape: tuple[int, int, int]) -> None:
        self.path = path
        self.shape = shape
        self.row_bytes = int(numpy.prod(shape))
        self._fd = os.open(path, os.O_RDONLY)
        weakref.finalize(self, os.close, self._fd)

    def read(self, positions: numpy.ndarray) -> Tensor:
        """Rows ``positions`` (any order, repeats allowed) as a new uint8 (len(positions), C, H, W) tensor."""
        if len(positions) == 0:
            return torch.empty((0, *self.shape), dtype=torch.uint8)
        wanted, where = numpy.unique(positions, return_inverse=True)
        rows = numpy.empty((len(wanted), self.row_bytes), dtype=numpy.uint8)
        bounds = [0, *(numpy.flatnonzero(numpy.diff(wanted) > 1) + 1).tolist(), len(wanted)]
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            self._read_into(rows[a:b].reshape(-1), int(wanted[a]))
        if not numpy.array_equal(wanted, positions):
            rows = rows[where.reshape(-1)]
        return torch.from_numpy(rows.reshape(len(positions), *self.shape))

    def _read_into(self, buffer: numpy.ndarray, first: int) -> None:
        view, offset, done = memoryview(buffer), first * self.row_bytes, 0
        while done < len(view):
            got = os.preadv(self._fd, [view[done:]], offset + done)
            if got == 0:
                last = first + len(view) // self.row_bytes
                raise SsclError(f"{self.path}: ends before row {last}; delete {self.path.parent} to rebuild")
            done += got


class CachedRows:
    """uint8 images (N, C, H, W): the rows ``positions`` of a :class:`RowFile`, read only when indexed.

    ``len``, ``shape``, ``dtype`` and ``dim()`` answer like a tensor's; ``rows[key]`` reads the selected images;
    :meth:`subset` selects without reading. The core's batch builder reads through :meth:`take_rows`.
    """

    dtype = torch.uint8
    """The images' type, as a tensor's ``dtype``."""

    def __init__(self, file: RowFile, positions: numpy.ndarray) -> None:
        self._file = file
        self._positions = positions

    def __len__(self) -> int:
        """Number of images."""
        return len(self._positions)

    @property
    def shape(self) -> torch.Size:
        """(N, C, H, W), as a tensor's."""
        return torch.Size((len(self), *self._file.shape))

    def dim(self) -> int:
        """4, as a tensor of images (N, C, H, W)."""
        return 4

    def __getitem__(self, key: Any) -> Tensor:
        """The images ``key`` selects, read from the file: (C, H, W) for an int, else (n, C, H, W)."""
        chosen = self._positions[_numpy_key(key)]
        if numpy.ndim(chosen) == 0:
            return self._file.read(numpy.array([chosen]))[0]
        return self._file.read(chosen)

    def take_rows(self, index: Tensor) -> Tensor:
        """The images at ``index`` (a 1-d index tensor), read from the file: how the core takes a batch."""
        return self[index]

    def subset(self, key: Any) -> CachedRows:
        """The images ``key`` selects (a slice, a list, an index or bool tensor) as new rows; nothing is read."""
        return CachedRows(self._file, numpy.atleast_1d(self._positions[_numpy_key(key)]))


def _numpy_key(key: Any) -> Any:
    return key.cpu().numpy() if torch.is_tensor(key) else key
