"""The active-learning query-strategy interface: what a strategy sees of a task's pool and what it returns."""

from __future__ import annotations

from typing import ClassVar

import attrs
import torch
from torch import Tensor

from sscl_core.api.components import component


@attrs.define(eq=False)
class Candidates:
    """A task's training images as a query strategy sees them, scored by the current model.

    ``probs`` (N, C) are the model's class probabilities over the C *scoring classes* (the task's classes, or
    every class seen so far in class-IL), one row per training image of the task. ``features`` (N, F) are the
    backbone's features of the same images, present only when the strategy sets ``needs_features``.
    ``labeled`` are the candidates labeled so far in this selection (empty in the first round) and ``labels``
    their classes as column indices of ``probs``; a strategy never picks a labeled candidate again.
    """

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

    :meth:`select` returns ``min(budget, unlabeled)`` distinct unlabeled candidates, most informative first;
    with a budget of at least the number of unlabeled candidates it is a full ranking (per-class budgets walk
    it). A budget of 0 gives an empty tensor. Randomness (ties, random choice, bootstrap) comes only from
    ``generator``, so runs repeat exactly.

    ``uses_model`` says whether the strategy looks at the model at all: when False (e.g. random choice) the pool
    is not scored and ``candidates.probs`` is uniform. ``needs_features`` asks the run for backbone features.
    ``rounds`` splits the budget into that many rounds; after each round the chosen images are labeled and
    :meth:`select` sees them in ``candidates.labeled`` and ``candidates.labels`` (the model is not retrained in
    between, so only strategies that learn from those labels, like query by committee, need more than one round).
    """

    name: ClassVar[str]
    uses_model: ClassVar[bool] = True
    needs_features: ClassVar[bool] = False
    rounds: ClassVar[int] = 1

    def select(self, candidates: Candidates, budget: int, generator: torch.Generator) -> Tensor:
        """Indices (int64, ``min(budget, unlabeled)`` of them, most informative first) of unlabeled candidates."""
        raise NotImplementedError
