"""Query by committee: a real committee that disagrees on ambiguous inputs and agrees on clear ones."""

import pytest
import torch

from sscl_core import SsclError
from sscl_core.api.components import build
from sscl_core.api.query import Candidates
from sscl_plugin_active.committee import QueryByCommittee, kl_disagreement, vote_entropy
from sscl_plugin_active.uncertainty import RandomQuery

CLEAR = range(0, 40)  # 20 far on each side of the boundary
AMBIGUOUS = range(40, 60)  # on the boundary between the two classes


def two_clusters():
    """Features of two classes split along dimension 0, plus candidates on the boundary; 4 labels per class."""
    g = torch.Generator().manual_seed(0)
    features = 0.3 * torch.randn(60, 5, generator=g)
    features[:20, 0] += 3.0
    features[20:40, 0] -= 3.0
    features[40:, 0] = 0.4 * torch.rand(20, generator=g) - 0.2
    labeled = torch.tensor([0, 1, 2, 3, 20, 21, 22, 23])
    labels = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    probs = torch.full((60, 2), 0.5)  # the model's own probabilities play no part in qbc
    return Candidates(probs=probs, features=features, labeled=labeled, labels=labels)


def test_committee_agrees_on_clear_inputs_and_disagrees_on_ambiguous_ones():
    candidates = two_clusters()
    member_probs = QueryByCommittee(committee_size=7).committee_probs(candidates, torch.Generator().manual_seed(1))
    assert member_probs.shape == (7, 60, 2)
    votes = member_probs.argmax(dim=2)
    truth = torch.tensor([0] * 20 + [1] * 20)
    assert torch.equal(votes[:, CLEAR], truth.expand(7, -1)), "every member should get the clear inputs right"
    split = [len(set(votes[:, i].tolist())) > 1 for i in AMBIGUOUS]
    assert sum(split) >= 5, f"members should split their votes on ambiguous inputs, did on {sum(split)} of 20"
    kl = kl_disagreement(member_probs)
    assert kl[list(AMBIGUOUS)].mean() > 10 * kl[list(CLEAR)].mean()
    assert vote_entropy(member_probs)[list(CLEAR)].max() == 0


def test_members_differ_because_each_sees_another_bootstrap_resample():
    member_probs = QueryByCommittee().committee_probs(two_clusters(), torch.Generator().manual_seed(1))
    assert all(not torch.allclose(member_probs[0], member_probs[m]) for m in range(1, 5))


@pytest.mark.parametrize("disagreement", ["kl", "vote-entropy"])
def test_ambiguous_inputs_are_queried_first(disagreement):
    chosen = QueryByCommittee(disagreement=disagreement).select(two_clusters(), 5, torch.Generator().manual_seed(2))
    assert set(chosen.tolist()) <= set(AMBIGUOUS)


def test_same_generator_same_choice():
    qbc = QueryByCommittee()
    a = qbc.select(two_clusters(), 6, torch.Generator().manual_seed(3))
    b = qbc.select(two_clusters(), 6, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_first_round_without_labels_is_random():
    candidates = two_clusters()
    empty = Candidates(probs=candidates.probs, features=candidates.features)
    chosen = QueryByCommittee().select(empty, 10, torch.Generator().manual_seed(4))
    assert torch.equal(chosen, RandomQuery().select(empty, 10, torch.Generator().manual_seed(4)))


def test_labels_of_a_single_class_give_a_unanimous_committee():
    candidates = two_clusters()
    one_class = Candidates(candidates.probs, candidates.features, candidates.labeled[:4], candidates.labels[:4])
    votes = QueryByCommittee().committee_probs(one_class, torch.Generator().manual_seed(5)).argmax(dim=2)
    assert (votes == 0).all()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"committee_size": 2}, "committee_size must be at least 3"),
        ({"rounds": 1}, "rounds must be at least 2"),
        ({"disagreement": "vote_entropy"}, "did you mean 'vote-entropy'"),
        ({"l2": 0}, "l2"),
    ],
)
def test_bad_settings_are_one_clear_error(settings, message):
    with pytest.raises(SsclError, match=message):
        build(QueryByCommittee, settings, "query_strategy 'qbc'")
