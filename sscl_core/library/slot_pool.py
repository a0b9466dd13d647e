"""What RAM memory pools share: fixed slots of stored samples (any keys, list fields as lists), the
(task_id, index) dedup, uniform draws and reservoir sampling; a subclass only chooses the slot of a new sample."""

from typing import Any

import torch
from torch import Tensor

from sscl_core.api.components import component, param
from sscl_core.api.memory import MemoryPool, Samples
from sscl_core.api.samples import detached_copy, nbytes, take


def reservoir_slot(seen: int, size: int, generator: torch.Generator) -> int | None:
    """Reservoir sampling's slot for the ``seen``-th distinct sample (from 1) in ``size`` slots: the next free one, then
    j ~ U{0..seen-1} if j < size, else ``None``: every sample is held with probability ``min(1, size / seen)``."""
    if seen <= size:
        return seen - 1
    j = int(torch.randint(0, seen, (1,), generator=generator))
    return j if j < size else None


@component
class SlotPool(MemoryPool):
    """Base class of pools that keep at most ``size`` samples in preallocated RAM slots; with ``dedup``, a sample
    (task_id, index) is offered to :meth:`choose_slot` only the first time it comes up."""

    dedup: bool = param(True, help="count each (task_id, index) once")

    def __attrs_post_init__(self) -> None:
        self.storage: dict[str, Tensor] = {}
        self.count = 0
        self._seen_keys: set[tuple[int, int]] = set()
        self._list_fields: set[str] = set()

    def __len__(self) -> int:
        """Samples held."""
        return self.count

    def choose_slot(self, sample: dict[str, Tensor], generator: torch.Generator) -> int | None:
        """The slot a newly offered sample goes to (``self.count`` to append), or ``None`` to drop it."""
        raise NotImplementedError

    def add(self, samples: Samples, generator: torch.Generator) -> None:
        """Offer each sample (each new one, with ``dedup``) to :meth:`choose_slot` and store it there."""
        if self.size == 0:
            return
        self._list_fields |= {k for k, v in samples.items() if not torch.is_tensor(v)}
        keys = zip(samples["task_id"].tolist(), samples["index"].tolist(), strict=True)
        for row, key in enumerate(keys):
            if self.dedup:
                if key in self._seen_keys:
                    continue
                self._seen_keys.add(key)
            sample = {k: v[row] for k, v in samples.items()}
            slot = self.choose_slot(sample, generator)
            if slot is not None:
                self._write(slot, sample)

    def _write(self, slot: int, sample: dict[str, Any]) -> None:
        if not self.storage:
            self.storage = {
                k: [None] * self.size if k in self._list_fields else torch.zeros((self.size, *v.shape), dtype=v.dtype)
                for k, v in sample.items()
            }
        for k, v in sample.items():
            self.storage[k][slot] = v.detach().cpu() if torch.is_tensor(v) else detached_copy(v)
        self.count = max(self.count, slot + 1)

    def labels(self) -> Tensor:
        """Labels of the samples held, slot by slot."""
        return self.storage["y"][: self.count] if self.storage else torch.zeros(0, dtype=torch.long)

    def sample(self, n: int, generator: torch.Generator) -> Samples | None:
        """``n`` samples drawn without replacement (all of them if fewer are held)."""
        if self.count == 0:
            return None
        chosen = torch.randperm(self.count, generator=generator)[: min(n, self.count)]
        return {k: take(v, chosen) for k, v in self.storage.items()}

    def ram_bytes(self) -> int:
        """Bytes of the stored tensors."""
        return nbytes(self.storage)

    def extra_state(self) -> dict[str, Any]:
        """A subclass's own counters for the checkpoint (tensors and plain data)."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`extra_state` returned."""

    def state_dict(self) -> dict[str, Any]:
        """Stored tensors, the number held, the keys seen and the subclass's counters."""
        keys = torch.tensor(sorted(self._seen_keys), dtype=torch.long).reshape(-1, 2)
        return {"storage": dict(self.storage), "count": self.count, "seen_keys": keys, **self.extra_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what state_dict returned."""
        self.storage = {k: detached_copy(v) for k, v in state["storage"].items()}
        self.count = int(state["count"])
        self._seen_keys = {(int(a), int(b)) for a, b in state["seen_keys"].tolist()}
        self.load_extra_state(state)
