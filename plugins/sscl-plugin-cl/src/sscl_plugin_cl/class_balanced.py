"""The class-balanced memory pool: equal room for every class seen, a uniform sample within each class."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from sscl_core import component
from sscl_core.library.slot_pool import SlotPool


@component
class ClassBalancedPool(SlotPool):
    """Class-balanced reservoir sampling, in RAM: per-class counts stay within one of each other.

    While the pool has room every new sample is kept. Once it is full, a sample of a class that holds fewer
    samples than the largest class replaces a random sample of the largest class (ties between largest
    classes broken at random); a sample of a largest class replaces a random sample of its own class with
    probability held / offered for that class, so each class keeps a uniform sample of what it was offered.
    Hence any two classes hold counts within one of each other, except a class that holds every sample it was
    offered. Samples are identified by (task_id, index) and deduplicated like ``reservoir``.
    """

    name = "class-balanced"

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.class_seen: dict[int, int] = {}

    def class_counts(self) -> dict[int, int]:
        """Samples held per class."""
        labels, counts = torch.unique(self.labels(), return_counts=True)
        return dict(zip(labels.tolist(), counts.tolist(), strict=True))

    def choose_slot(self, sample: dict[str, Tensor], generator: torch.Generator) -> int | None:
        """A free slot, else a slot of the largest class, else (own class largest) maybe one of its own."""
        label = int(sample["y"])
        self.class_seen[label] = self.class_seen.get(label, 0) + 1
        if self.count < self.size:
            return self.count
        counts = self.class_counts()
        largest = max(counts.values())
        held = counts.get(label, 0)
        if held < largest:
            candidates = [c for c, n in counts.items() if n == largest]
            victim = candidates[int(torch.randint(0, len(candidates), (1,), generator=generator))]
            return self._random_slot_of(victim, generator)
        keep = float(torch.rand((), generator=generator)) < held / self.class_seen[label]
        return self._random_slot_of(label, generator) if keep else None

    def _random_slot_of(self, label: int, generator: torch.Generator) -> int:
        slots = torch.nonzero(self.labels() == label).flatten()
        return int(slots[int(torch.randint(0, len(slots), (1,), generator=generator))])

    def extra_state(self) -> dict[str, Any]:
        """Samples offered per class."""
        return {"class_seen": [[c, n] for c, n in sorted(self.class_seen.items())]}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore the samples offered per class."""
        self.class_seen = {int(c): int(n) for c, n in state["class_seen"]}
