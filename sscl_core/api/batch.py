"""The batch a method trains on in one iteration."""

from __future__ import annotations

from typing import Any

import attrs
import torch
from torch import Tensor

from sscl_core.api.samples import to_device


@attrs.define(eq=False)
class SemiBatch:
    """Labeled and unlabeled samples of one iteration, already transformed and on the run's device.

    ``x`` is the weak view of the labeled images, ``y`` their targets (labels for classification; any structure
    the problem kind defines, see :mod:`sscl_core.api.samples`) and ``index`` their positions in the
    task's training images; ``x_raw`` keeps the uint8 images (on the CPU) for memory pools. The unlabeled
    fields are ``None`` when the method does not ask for them in this iteration (then they are not even
    loaded); ``u_raw`` and ``u_index`` are set whenever any unlabeled view is. ``labeled_weight`` (N,) weighs
    each labeled sample's supervised loss when a hook sets it (e.g. UDA's training-signal annealing in
    ``before_iter``); methods that honor it average their labeled loss over the total weight.
    """

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
