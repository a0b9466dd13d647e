"""The memory-pool interface: where replay methods keep past samples."""

from pathlib import Path
from typing import Any, ClassVar

import attrs
import torch

from sscl_core.api.components import component, param

Samples = dict[str, Any]
"""A batch of stored samples: equal-length fields under keys, each a tensor with one row per sample or a list
with one entry per sample (:mod:`sscl_core.api.samples`). Every pool stores ``x`` (uint8 images), ``y`` (the
targets: labels for classification), ``task_id`` and ``index`` (position in the task's training images);
methods may add more keys (e.g. ``logits``)."""


@component
class MemoryPool:
    """Base class of memory pools. ``size`` is a hard budget on the number of samples held in RAM."""

    name: ClassVar[str]
    size: int = param(200, help="most samples held in RAM", validator=attrs.validators.ge(0))

    def add(self, samples: Samples, generator: torch.Generator) -> None:
        """Offer a batch of samples; the pool decides which it keeps."""
        raise NotImplementedError

    def sample(self, n: int, generator: torch.Generator) -> Samples | None:
        """Up to ``n`` stored samples drawn at random, or ``None`` while the pool is empty."""
        raise NotImplementedError

    def __len__(self) -> int:
        """Number of samples held."""
        raise NotImplementedError

    def ram_bytes(self) -> int:
        """Bytes of sample data held in RAM."""
        raise NotImplementedError

    def disk_bytes(self) -> int:
        """Bytes of sample data held on disk."""
        return 0

    def disk_files(self) -> list[Path]:
        """The disk tier's files that the state refers to, inside ``ctx.pool_dir``, never changed in place (the
        plugin guide, "Files a component's state refers to"); RAM-only pools have none."""
        return []

    def max_disk_bytes(self) -> int | None:
        """The bound on the bytes of :meth:`disk_files`, enforced at every checkpoint (None: no disk tier)."""
        return None

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to restore the pool, as tensors and plain data (disk files named by relative path)."""
        raise NotImplementedError

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        raise NotImplementedError
