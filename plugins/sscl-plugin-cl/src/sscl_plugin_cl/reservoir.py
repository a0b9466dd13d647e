"""The reservoir memory pool: a uniform sample of every distinct sample offered so far."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from sscl_core import MemoryPool, Samples, component, param


@component
class ReservoirPool(MemoryPool):
    """Reservoir sampling over the stream of distinct samples, in RAM.

    A sample is identified by (task_id, index); with ``dedup`` on, a sample offered again (e.g. the same
    labeled image in a later iteration) is not counted twice, so the pool stays a uniform sample of the
    distinct samples seen. Extra keys (e.g. ``logits``) are stored beside the images.
    """

    name = "reservoir"
    dedup: bool = param(True, help="count each (task_id, index) once")

    def __attrs_post_init__(self) -> None:
        self.storage: dict[str, Tensor] = {}
        self.count = 0
        self.seen = 0
        self._seen_keys: set[tuple[int, int]] = set()

    def __len__(self) -> int:
        """Samples held."""
        return self.count

    def _keys(self, samples: Samples) -> list[tuple[int, int]]:
        return list(zip(samples["task_id"].tolist(), samples["index"].tolist(), strict=True))

    def add(self, samples: Samples, generator: torch.Generator) -> None:
        """Offer each new sample to the reservoir."""
        if self.size == 0:
            return
        keys = self._keys(samples)
        for row, key in enumerate(keys):
            if self.dedup:
                if key in self._seen_keys:
                    continue
                self._seen_keys.add(key)
            slot = self._slot(generator)
            self.seen += 1
            if slot is not None:
                self._write(slot, {k: v[row] for k, v in samples.items()})

    def _slot(self, generator: torch.Generator) -> int | None:
        if self.seen < self.size:
            return self.seen
        j = int(torch.randint(0, self.seen + 1, (1,), generator=generator))
        return j if j < self.size else None

    def _write(self, slot: int, sample: dict[str, Tensor]) -> None:
        if not self.storage:
            self.storage = {k: torch.zeros((self.size, *v.shape), dtype=v.dtype) for k, v in sample.items()}
        for k, v in sample.items():
            self.storage[k][slot] = v.detach().cpu()
        self.count = max(self.count, slot + 1)

    def sample(self, n: int, generator: torch.Generator) -> Samples | None:
        """``n`` samples drawn without replacement (all of them if fewer are held)."""
        if self.count == 0:
            return None
        chosen = torch.randperm(self.count, generator=generator)[: min(n, self.count)]
        return {k: v[chosen] for k, v in self.storage.items()}

    def ram_bytes(self) -> int:
        """Bytes of the stored tensors."""
        return sum(v.numel() * v.element_size() for v in self.storage.values())

    def state_dict(self) -> dict[str, Any]:
        """Stored tensors, counters and the keys seen."""
        keys = torch.tensor(sorted(self._seen_keys), dtype=torch.long).reshape(-1, 2)
        return {"storage": dict(self.storage), "count": self.count, "seen": self.seen, "seen_keys": keys}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what state_dict returned."""
        self.storage = {k: v.clone() for k, v in state["storage"].items()}
        self.count, self.seen = int(state["count"]), int(state["seen"])
        self._seen_keys = {(int(a), int(b)) for a, b in state["seen_keys"].tolist()}
