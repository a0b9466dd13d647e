"""The reservoir memory pool: a uniform sample of every distinct sample offered so far."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from sscl_core import component
from sscl_core.library.slot_pool import SlotPool, reservoir_slot


@component
class ReservoirPool(SlotPool):
    """Reservoir sampling over the stream of distinct samples, in RAM.

    A sample is identified by (task_id, index); with ``dedup`` on, a sample offered again (e.g. the same
    labeled image in a later iteration) is not counted twice, so the pool stays a uniform sample of the
    distinct samples seen. Extra keys (e.g. ``logits``) are stored beside the images.
    """

    name = "reservoir"

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.seen = 0

    def choose_slot(self, sample: dict[str, Tensor], generator: torch.Generator) -> int | None:
        """The next free slot while there is one, then slot j ~ U{0..seen} if j < size."""
        self.seen += 1
        return reservoir_slot(self.seen, self.size, generator)

    def extra_state(self) -> dict[str, Any]:
        """The number of samples offered."""
        return {"seen": self.seen}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore the number of samples offered."""
        self.seen = int(state["seen"])
