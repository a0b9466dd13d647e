"""Query by committee: linear heads fit on bootstrap resamples of the labels acquired so far, over the
current model's features; the images they disagree on most are queried."""

from __future__ import annotations

import attrs
import torch
import torch.nn.functional as F
from torch import Tensor

from sscl_core import QueryStrategy, component, param
from sscl_core.api.components import one_of
from sscl_core.api.query import Candidates
from sscl_plugin_active.ranking import rank

DISAGREEMENTS = ("kl", "vote-entropy")


def _at_least(minimum: int, why: str):
    def check(_instance, attribute, value) -> None:
        if value < minimum:
            raise ValueError(f"{attribute.name} must be at least {minimum} ({why}), got {value}")

    return check


def fit_linear_head(x: Tensor, y: Tensor, num_classes: int, l2: float, steps: int) -> tuple[Tensor, Tensor]:
    """Multinomial logistic regression of ``y`` on ``x`` (L-BFGS, L2 penalty ``l2``): weights (F, C) and bias (C,)."""
    weight = torch.zeros(x.shape[1], num_classes, requires_grad=True)
    bias = torch.zeros(num_classes, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(x @ weight + bias, y) + l2 * weight.square().sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    return weight.detach(), bias.detach()


def stratified_bootstrap(labels: Tensor, generator: torch.Generator) -> Tensor:
    """Positions into ``labels`` drawn with replacement within each class, as many per class as it has."""
    drawn = []
    for c in labels.unique().tolist():
        members = (labels == c).nonzero().flatten()
        drawn.append(members[torch.randint(0, len(members), (len(members),), generator=generator)])
    return torch.cat(drawn)


def kl_disagreement(member_probs: Tensor) -> Tensor:
    """Mean KL divergence of each member's distribution from the committee's mean (M, N, C) -> (N,)."""
    consensus = member_probs.mean(dim=0, keepdim=True)
    kl = torch.special.xlogy(member_probs, member_probs) - torch.special.xlogy(member_probs, consensus)
    return kl.sum(dim=2).mean(dim=0)


def vote_entropy(member_probs: Tensor) -> Tensor:
    """Entropy of the members' votes (each votes for its most probable class) (M, N, C) -> (N,)."""
    votes = F.one_hot(member_probs.argmax(dim=2), member_probs.shape[2]).double().mean(dim=0)
    return -torch.special.xlogy(votes, votes).sum(dim=1)


@component
class QueryByCommittee(QueryStrategy):
    """Query by committee over the current model's features.

    Each of ``committee_size`` members is a linear softmax head fit on a bootstrap resample (drawn with
    replacement within each class, so every member sees every class) of the images labeled so far in this
    selection, on the backbone's features (centered and scaled to unit root-mean-square norm over the pool). The
    images the committee disagrees on most are queried: mean KL divergence of the members from their
    consensus (``kl``) or the entropy of their votes (``vote-entropy``). A committee needs labels, so the
    first of ``rounds`` rounds chooses at random; each later round refits the committee on every label
    acquired before it.
    """

    name = "qbc"
    needs_features = True
    committee_size: int = param(5, help="members of the committee", validator=_at_least(3, "a committee"))
    rounds: int = param(
        2,
        help="selection rounds per task: the first is random, later ones ask the committee",
        validator=_at_least(2, "the first round is random, as no label exists yet"),
    )
    disagreement: str = param("kl", help="kl or vote-entropy", validator=one_of(*DISAGREEMENTS))
    l2: float = param(1e-3, help="L2 penalty of each member's weights", validator=attrs.validators.gt(0.0))
    steps: int = param(100, help="L-BFGS iterations to fit each member", validator=_at_least(1, "to fit"))

    def committee_probs(self, candidates: Candidates, generator: torch.Generator) -> Tensor:
        """Each member's class probabilities for every candidate (M, N, C), fit on the labeled candidates."""
        features = candidates.features
        if features is None:
            raise ValueError("qbc needs the candidates' features")
        centered = features - features.mean(dim=0)
        x = (centered / centered.square().sum(dim=1).mean().sqrt().clamp_min(1e-6)).float()
        labeled_x, labeled_y = x[candidates.labeled], candidates.labels
        num_classes = candidates.probs.shape[1]
        members = []
        for _ in range(self.committee_size):
            sample = stratified_bootstrap(labeled_y, generator)
            weight, bias = fit_linear_head(labeled_x[sample], labeled_y[sample], num_classes, self.l2, self.steps)
            members.append(torch.softmax(x @ weight + bias, dim=1))
        return torch.stack(members)

    def select(self, candidates: Candidates, budget: int, generator: torch.Generator) -> Tensor:
        """The candidates the committee disagrees on most; at random while nothing is labeled."""
        if len(candidates.labeled) == 0:
            return rank(torch.zeros(len(candidates)), candidates, budget, generator)
        member_probs = self.committee_probs(candidates, generator)
        score = kl_disagreement if self.disagreement == "kl" else vote_entropy
        return rank(score(member_probs), candidates, budget, generator)
