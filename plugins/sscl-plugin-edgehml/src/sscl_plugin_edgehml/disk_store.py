"""The disk tier of the hierarchical memory pool: a bounded reservoir of uint8 images in immutable shard files.

Images live in numpy ``.npy`` shards in one folder; RAM holds only per-slot metadata (where the image is,
its label, task id and sample index) and a buffer of at most ``shard_samples`` new images waiting to become
the next shard. A shard is written once (temp file, fsync, ``os.replace``) and never changed: a slot the
reservoir overwrites leaves a dead row behind, a shard with no live rows is deleted, and when the shards hold
more than ``2 * capacity`` rows the sparsest shards are merged into a new one. So checkpoints can keep the
files by hard link, and the bytes on disk stay under :meth:`DiskStore.max_disk_bytes`.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from sscl_core.api.memory import Samples
from sscl_core.library.slot_pool import reservoir_slot
from sscl_core.run.rundir import atomic_file

IN_BUFFER = -1
"""Shard id of a slot whose image still waits in the RAM buffer."""


def _shard_name(shard: int) -> str:
    return f"shard-{shard:06d}.npy"


def _header_bytes(shape: tuple[int, ...]) -> int:
    """Bytes of the .npy header numpy writes for a uint8 array of ``shape``."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "|u1", "fortran_order": False, "shape": shape})
    return buffer.tell()


class _SeenKeys:
    """The (task_id, index) pairs offered so far, one byte per index of each task (a set of 20,000 pairs would
    take megabytes of RAM; the indices are positions in a task's training images, so the arrays stay small)."""

    def __init__(self) -> None:
        self._by_task: dict[int, np.ndarray] = {}

    def add(self, task_id: int, index: int) -> bool:
        """Record the pair; True if it is new."""
        if index < 0:
            raise ValueError(f"sample indices are positions in a task's training images, got {index}")
        seen = self._by_task.get(task_id)
        if seen is None or index >= len(seen):
            grown = np.zeros(max(index + 1, 2 * len(seen) if seen is not None else 1024), dtype=bool)
            if seen is not None:
                grown[: len(seen)] = seen
            self._by_task[task_id] = seen = grown
        if seen[index]:
            return False
        seen[index] = True
        return True

    def to_tensor(self) -> Tensor:
        """The pairs as a (N, 2) long tensor, sorted."""
        rows = [
            np.stack([np.full(len(found), task_id), found], axis=1)
            for task_id in sorted(self._by_task)
            if len(found := np.flatnonzero(self._by_task[task_id]))
        ]
        pairs = np.concatenate(rows) if rows else np.zeros((0, 2), dtype=np.int64)
        return torch.from_numpy(pairs.astype(np.int64))

    @classmethod
    def from_tensor(cls, pairs: Tensor) -> _SeenKeys:
        """The pairs of :meth:`to_tensor`."""
        keys = cls()
        for task_id, index in pairs.tolist():
            keys.add(int(task_id), int(index))
        return keys


class DiskStore:
    """A reservoir of at most ``capacity`` uint8 images with labels, the images on disk in shard files.

    Each distinct (task_id, index) offered counts once (with ``dedup``) in the reservoir's stream, so the
    store stays a uniform sample of the distinct samples offered. Call :meth:`attach` before the first offer.
    """

    def __init__(self, capacity: int, shard_samples: int = 256, dedup: bool = True) -> None:
        """An empty store of ``capacity`` slots writing shards of ``shard_samples`` images."""
        if capacity < 0 or shard_samples < 1:
            raise ValueError(f"need capacity >= 0 and shard_samples >= 1, got {capacity} and {shard_samples}")
        self.capacity = capacity
        self.shard_samples = shard_samples
        self.dedup = dedup
        self.directory: Path | None = None
        self._reset()

    def _reset(self) -> None:
        self.count = 0
        self.seen = 0
        self.next_shard = 0
        self.image_shape: tuple[int, ...] | None = None
        self._seen_keys = _SeenKeys()
        self._loc_shard = np.zeros(self.capacity, dtype=np.int64)
        self._loc_row = np.zeros(self.capacity, dtype=np.int64)
        self._meta = np.zeros((self.capacity, 3), dtype=np.int64)
        self._shard_rows: dict[int, int] = {}
        self._shard_live: dict[int, int] = {}
        self._buffer: np.ndarray | None = None
        self._buffer_len = 0

    @property
    def buffer_capacity(self) -> int:
        """Images the RAM buffer holds before it is written as a shard."""
        return max(1, min(self.shard_samples, self.capacity))

    def attach(self, directory: Path) -> None:
        """Keep the shards in ``directory`` (created on the first write)."""
        self.directory = Path(directory)

    def __len__(self) -> int:
        """Samples held."""
        return self.count

    def image_bytes(self) -> int:
        """Bytes of one image (0 before the first offer)."""
        return int(np.prod(self.image_shape)) if self.image_shape is not None else 0

    def max_disk_bytes(self) -> int:
        """A bound the shard files never exceed: 2 * capacity + one shard of rows, plus a header per file.

        At rest the shards hold at most ``2 * capacity`` rows; a merge writes at most one buffer's worth of
        rows before it deletes what it merged. Every file holds a live row, so there are at most
        ``capacity + 1`` files (the one being written included). 0 before the first offer (no files yet).
        """
        if self.image_shape is None:
            return 0
        rows = 2 * self.capacity + self.buffer_capacity
        return rows * self.image_bytes() + (self.capacity + 1) * _header_bytes((rows, *self.image_shape))

    def files(self) -> list[Path]:
        """The shard files the current state refers to."""
        if not self._shard_rows:
            return []
        return [self._path(shard) for shard in sorted(self._shard_rows)]

    def disk_bytes(self) -> int:
        """Bytes of the shard files."""
        return sum(path.stat().st_size for path in self.files())

    def buffer_bytes(self) -> int:
        """Bytes of the RAM buffer of images not yet written."""
        return self._buffer.nbytes if self._buffer is not None else 0

    def offer(self, samples: Samples, generator: torch.Generator) -> None:
        """Offer a batch (``x`` uint8 N,C,H,W, ``y``, ``task_id``, ``index``); the reservoir decides what stays."""
        if self.capacity == 0:
            return
        images = samples["x"].detach().cpu().numpy()
        if images.dtype != np.uint8:
            raise ValueError(f"the disk tier stores uint8 images, got {images.dtype}")
        labels = samples["y"].tolist()
        task_ids = samples["task_id"].tolist()
        indices = samples["index"].tolist()
        for row, (y, task_id, index) in enumerate(zip(labels, task_ids, indices, strict=True)):
            if self.dedup and not self._seen_keys.add(task_id, index):
                continue
            self.seen += 1
            slot = reservoir_slot(self.seen, self.capacity, generator)
            if slot is not None:
                self._store(slot, images[row], (y, task_id, index))

    def _store(self, slot: int, image: np.ndarray, meta: tuple[int, int, int]) -> None:
        if self.image_shape is None:
            self.image_shape = tuple(image.shape)
            self._buffer = np.empty((self.buffer_capacity, *self.image_shape), dtype=np.uint8)
        elif tuple(image.shape) != self.image_shape:
            raise ValueError(f"the disk tier holds images of shape {self.image_shape}, got {tuple(image.shape)}")
        self._meta[slot] = meta
        if slot < self.count and self._loc_shard[slot] == IN_BUFFER:
            self._buffer[self._loc_row[slot]] = image
            return
        if slot < self.count:
            self._release(int(self._loc_shard[slot]))
        self.count = max(self.count, slot + 1)
        self._buffer[self._buffer_len] = image
        self._loc_shard[slot] = IN_BUFFER
        self._loc_row[slot] = self._buffer_len
        self._buffer_len += 1
        if self._buffer_len == self.buffer_capacity:
            self.flush()

    def _release(self, shard: int) -> None:
        """One row of ``shard`` died; delete the shard once none lives."""
        self._shard_live[shard] -= 1
        if self._shard_live[shard] == 0:
            self._drop(shard)

    def _drop(self, shard: int) -> None:
        del self._shard_rows[shard], self._shard_live[shard]
        self._path(shard).unlink()

    def flush(self) -> None:
        """Write the buffered images as a new shard (merging sparse shards first to stay within the bound)."""
        if self._buffer_len == 0:
            return
        while self._total_rows() + self._buffer_len > 2 * self.capacity:
            self._merge_sparsest()
        in_buffer = np.flatnonzero(self._loc_shard[: self.count] == IN_BUFFER)
        shard = self._write_shard(self._buffer[: self._buffer_len])
        self._loc_shard[in_buffer] = shard
        self._shard_live[shard] = len(in_buffer)
        self._buffer_len = 0

    def _total_rows(self) -> int:
        return sum(self._shard_rows.values())

    def _merge_sparsest(self) -> None:
        """Merge the live rows of the shards with the lowest live fraction (at most one buffer of rows) into a
        new shard and delete them."""
        order = sorted(self._shard_rows, key=lambda s: (self._shard_live[s] / self._shard_rows[s], s))
        chosen, live = [], 0
        for shard in order:
            if chosen and live + self._shard_live[shard] > self.buffer_capacity:
                break
            chosen.append(shard)
            live += self._shard_live[shard]
        slots = np.flatnonzero(np.isin(self._loc_shard[: self.count], chosen))
        merged = self._gather(slots)
        shard = self._write_shard(merged)
        self._loc_shard[slots] = shard
        self._loc_row[slots] = np.arange(len(slots))
        self._shard_live[shard] = len(slots)
        for old in chosen:
            self._drop(old)

    def _gather(self, slots: np.ndarray) -> np.ndarray:
        """The images of ``slots``, read from the shards (memory-mapped) and the buffer."""
        out = np.empty((len(slots), *self.image_shape), dtype=np.uint8)
        shards = self._loc_shard[slots]
        rows = self._loc_row[slots]
        for shard in np.unique(shards).tolist():
            picked = np.flatnonzero(shards == shard)
            if shard == IN_BUFFER:
                out[picked] = self._buffer[rows[picked]]
                continue
            mapped = np.load(self._path(shard), mmap_mode="r")
            out[picked] = mapped[rows[picked]]
            del mapped
        return out

    def _write_shard(self, images: np.ndarray) -> int:
        """Write ``images`` as a new shard file atomically; return its id."""
        if self.directory is None:
            raise RuntimeError("the disk tier has no folder: call attach() before offering samples")
        self.directory.mkdir(parents=True, exist_ok=True)
        shard = self.next_shard
        self.next_shard += 1
        final = self._path(shard)
        with atomic_file(final) as handle:
            np.save(handle, np.ascontiguousarray(images), allow_pickle=False)
        self._shard_rows[shard] = len(images)
        return shard

    def _path(self, shard: int) -> Path:
        if self.directory is None:
            raise RuntimeError("the disk tier has no folder: call attach() first")
        return self.directory / _shard_name(shard)

    def metadata(self) -> Samples:
        """``y``, ``task_id`` and ``index`` of the samples held, slot by slot (no images)."""
        meta = torch.from_numpy(self._meta[: self.count].copy())
        return {"y": meta[:, 0], "task_id": meta[:, 1], "index": meta[:, 2]}

    def read(self, slots: Tensor) -> Samples:
        """The samples in ``slots`` with their images (read from the shards or the buffer)."""
        picked = slots.detach().cpu().numpy().astype(np.int64).reshape(-1)
        if len(picked) and (picked.min() < 0 or picked.max() >= self.count):
            raise IndexError(f"slots out of range 0..{self.count - 1}")
        if self.image_shape is None:
            images = torch.zeros((0,), dtype=torch.uint8)
        else:
            images = torch.from_numpy(self._gather(picked))
        meta = torch.from_numpy(self._meta[picked].copy())
        return {"x": images, "y": meta[:, 0], "task_id": meta[:, 1], "index": meta[:, 2]}

    def state_dict(self) -> dict[str, Any]:
        """Metadata, locations, counters, keys seen, the unflushed images and the shard file names."""
        shards = sorted(self._shard_rows)
        buffer = self._buffer[: self._buffer_len] if self._buffer is not None else np.zeros((0,), dtype=np.uint8)
        return {
            "count": self.count,
            "seen": self.seen,
            "next_shard": self.next_shard,
            "image_shape": list(self.image_shape) if self.image_shape is not None else None,
            "seen_keys": self._seen_keys.to_tensor(),
            "meta": torch.from_numpy(self._meta[: self.count].copy()),
            "loc_shard": torch.from_numpy(self._loc_shard[: self.count].copy()),
            "loc_row": torch.from_numpy(self._loc_row[: self.count].copy()),
            "buffer": torch.from_numpy(buffer.copy()),
            "shards": [_shard_name(s) for s in shards],
            "shard_rows": [self._shard_rows[s] for s in shards],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned; the folder must already hold the shards it names."""
        self._reset()
        self.count = int(state["count"])
        self.seen = int(state["seen"])
        self.next_shard = int(state["next_shard"])
        self._seen_keys = _SeenKeys.from_tensor(state["seen_keys"])
        self._meta[: self.count] = state["meta"].numpy()
        self._loc_shard[: self.count] = state["loc_shard"].numpy()
        self._loc_row[: self.count] = state["loc_row"].numpy()
        if state["image_shape"] is not None:
            self.image_shape = tuple(int(d) for d in state["image_shape"])
            self._buffer = np.empty((self.buffer_capacity, *self.image_shape), dtype=np.uint8)
            self._buffer_len = len(state["buffer"])
            self._buffer[: self._buffer_len] = state["buffer"].numpy()
        for name, rows in zip(state["shards"], state["shard_rows"], strict=True):
            shard = int(name.removeprefix("shard-").removesuffix(".npy"))
            if not self._path(shard).is_file():
                raise FileNotFoundError(f"the disk tier's state names {self._path(shard)}, which does not exist")
            self._shard_rows[shard] = int(rows)
        live = self._loc_shard[: self.count]
        self._shard_live = {s: int(np.count_nonzero(live == s)) for s in self._shard_rows}
