"""Strategies that score each image by the current model's uncertainty about it (and the random baseline)."""

from __future__ import annotations

import torch
from torch import Tensor

from sscl_core import QueryStrategy, component
from sscl_core.api.query import Candidates
from sscl_plugin_active.ranking import rank


@component
class UncertaintyStrategy(QueryStrategy):
    """Base class of strategies that score each candidate from its class probabilities alone."""

    def scores(self, probs: Tensor) -> Tensor:
        """Informativeness of each row of ``probs`` (N, C): higher is queried first."""
        raise NotImplementedError

    def select(self, candidates: Candidates, budget: int, generator: torch.Generator) -> Tensor:
        """The ``budget`` highest-scoring unlabeled candidates, ties in random order."""
        return rank(self.scores(candidates.probs), candidates, budget, generator)


@component
class RandomQuery(UncertaintyStrategy):
    """Uniformly random choice: every candidate scores the same, so the ranking is the random tie order.

    It does not look at the model, so the pool is not scored.
    """

    name = "random"
    uses_model = False

    def scores(self, probs: Tensor) -> Tensor:
        """Zero for every candidate."""
        return torch.zeros(probs.shape[0])


@component
class LeastConfidence(UncertaintyStrategy):
    """Least confidence: query the images whose most probable class has the lowest probability."""

    name = "least-confidence"

    def scores(self, probs: Tensor) -> Tensor:
        """One minus the highest class probability."""
        return 1.0 - probs.max(dim=1).values


@component
class Margin(UncertaintyStrategy):
    """Smallest margin: query the images whose two most probable classes are closest."""

    name = "margin"

    def scores(self, probs: Tensor) -> Tensor:
        """Minus the gap between the two highest probabilities (with one class, every gap is 1)."""
        if probs.shape[1] < 2:
            return -torch.ones(probs.shape[0])
        top = probs.topk(2, dim=1).values
        return top[:, 1] - top[:, 0]


@component
class Entropy(UncertaintyStrategy):
    """Maximum entropy: query the images whose predicted class distribution has the highest entropy."""

    name = "entropy"

    def scores(self, probs: Tensor) -> Tensor:
        """Shannon entropy (nats) of each row; 0 log 0 counts as 0."""
        return -torch.special.xlogy(probs, probs).sum(dim=1)
