"""The active-learning query-strategy interface: what a strategy sees of a task's pool and what it returns."""

from __future__ import annotations

from typing import ClassVar

import attrs
import torch
from torch import Tensor

from sscl_core.api.components import component


@attrs.define(eq=False)
class Candidates:
    """A task's training images as a query strategy sees them (see the plugin guide, "Query strategies").

    ``probs`` (N, C): the model's class probabilities over the scoring classes; ``features`` (N, F): backbone
    features, only when the strategy sets ``needs_features``; ``labeled``: the candidates labeled so far in this
    selection, ``labels`` their classes as column indices of ``probs``."""

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
    """Base class of query strategies: rank a task's unlabeled images by how much their labels are worth.

    :meth:`select` returns ``min(budget, unlabeled)`` distinct unlabeled candidates, most informative first, drawing
    randomness only from ``generator``. ``uses_model = False`` skips scoring the pool (``probs`` is uniform),
    ``needs_features`` asks for backbone features, ``rounds`` splits the budget into rounds that see the labels
    acquired before them (see the plugin guide, "Query strategies")."""

    name: ClassVar[str]
    uses_model: ClassVar[bool] = True
    needs_features: ClassVar[bool] = False
    rounds: ClassVar[int] = 1

    def select(self, candidates: Candidates, budget: int, generator: torch.Generator) -> Tensor:
        """Indices (int64, ``min(budget, unlabeled)`` of them, most informative first) of unlabeled candidates."""
        raise NotImplementedError
