"""The batch a method trains on in one iteration."""

from typing import Any

import attrs
import torch
from torch import Tensor

from sscl_core.api.samples import to_device


@attrs.define(eq=False)
class SemiBatch:
    """Labeled and unlabeled samples of one iteration, transformed and on the run's device (field by field:
    docs/hooks.md, "What the hooks can reach")."""

    x: Tensor | list[Any]
    y: Tensor | list[Any]
    index: Tensor
    task_id: int
    x_raw: Tensor | list[Any]
    u_weak: Tensor | None = None
    u_strong: Tensor | None = None
    u_index: Tensor | None = None
    u_raw: Tensor | None = None
    labeled_weight: Tensor | None = None

    def labeled_samples(self) -> dict[str, Tensor]:
        """The labeled part as memory-pool samples (uint8 images and labels on the CPU)."""
        return {
            "x": self.x_raw,
            "y": to_device(self.y, "cpu"),
            "task_id": torch.full_like(self.index, self.task_id),
            "index": self.index,
        }
