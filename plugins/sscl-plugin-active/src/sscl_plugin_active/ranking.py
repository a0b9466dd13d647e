"""Ranking candidates by a score, with ties in random order."""

from __future__ import annotations

import torch
from torch import Tensor

from sscl_core.api.query import Candidates

TIE_DECIMALS = 6
"""Scores equal to this many decimals are ties (rows that are permutations of each other then tie exactly,
whatever the float rounding of their sums)."""


def rank(scores: Tensor, candidates: Candidates, budget: int, generator: torch.Generator) -> Tensor:
    """The ``budget`` unlabeled candidates with the highest ``scores`` (N,), best first.

    Ties are broken by a random permutation drawn from ``generator``, so equal scores come out in random order.
    """
    pool = candidates.unlabeled()
    shuffled = pool[torch.randperm(len(pool), generator=generator)]
    rounded = torch.round(scores.double()[shuffled], decimals=TIE_DECIMALS)
    ranked = shuffled[torch.argsort(rounded, descending=True, stable=True)]
    return ranked[: max(0, budget)]
