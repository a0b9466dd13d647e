"""The active-learning query-strategy interface."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from sscl_core.components import component


@component
class QueryStrategy:
    """Base class of query strategies: pick which unlabeled samples get labels.

    ``probs`` is (N, C) class probabilities from the current model or, when ``committee_size`` > 0,
    (M, N, C) from M committee members.
    """

    name: ClassVar[str]
    committee_size: ClassVar[int] = 0

    def select(self, probs: Tensor, budget: int, generator: torch.Generator) -> Tensor:
        """Indices (at most ``budget``, most informative first) into the N candidates."""
        raise NotImplementedError
