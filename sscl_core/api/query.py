"""The active-learning query-strategy interface: what a strategy sees of a task's pool and what it returns."""

from typing import ClassVar

import attrs
import torch
from torch import Tensor

from sscl_core.api.components import component


@attrs.define(eq=False)
class Candidates:
    """A task's training images as a strategy sees them: ``probs`` (N, C) over the scoring classes, ``features``
    (N, F) when it ``needs_features``, the ``labeled`` candidates so far and their ``labels`` (columns of ``probs``)."""

    probs: Tensor
    features: Tensor | None = None
    labeled: Tensor = attrs.field(factory=lambda: torch.zeros(0, dtype=torch.long))
    labels: Tensor = attrs.field(factory=lambda: torch.zeros(0, dtype=torch.long))

    def __len__(self) -> int:
        """Number of candidates N."""
        return int(self.probs.shape[0])

    def unlabeled(self) -> Tensor:
        """Indices of the candidates not labeled yet, ascending."""
        mask = torch.ones(len(self), dtype=torch.bool)
        mask[self.labeled] = False
        return mask.nonzero().flatten()


@component
class QueryStrategy:
    """Base class of query strategies: :meth:`select` ranks a task's unlabeled images by the worth of their labels;
    ``uses_model``, ``needs_features`` and ``rounds`` are explained in the plugin guide, "Query strategies"."""

    name: ClassVar[str]
    uses_model: ClassVar[bool] = True
    needs_features: ClassVar[bool] = False
    rounds: ClassVar[int] = 1

    def select(self, candidates: Candidates, budget: int, generator: torch.Generator) -> Tensor:
        """Indices (int64, ``min(budget, unlabeled)`` of them, most informative first) of unlabeled candidates."""
        raise NotImplementedError
