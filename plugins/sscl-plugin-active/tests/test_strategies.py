"""Rankings of the probability-based strategies on hand-built tables, ties and degenerate inputs."""

import pytest
import torch

from sscl_core import testing
from sscl_core.api.query import Candidates
from sscl_plugin_active.committee import QueryByCommittee
from sscl_plugin_active.uncertainty import Entropy, LeastConfidence, Margin, RandomQuery

STRATEGIES = (RandomQuery, LeastConfidence, Margin, Entropy)

# One row per candidate; each strategy orders them differently.
TABLE = torch.tensor(
    [
        [0.98, 0.01, 0.01],  # 0: confident
        [0.34, 0.33, 0.33],  # 1: nearly uniform
        [0.50, 0.50, 0.00],  # 2: an exact two-way tie
        [0.60, 0.30, 0.10],  # 3: leaning
        [0.46, 0.44, 0.10],  # 4: close call between two classes
    ]
)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        (LeastConfidence, [1, 4, 2, 3, 0]),  # 1 - max p: .66, .54, .50, .40, .02
        (Margin, [2, 1, 4, 3, 0]),  # top-2 gaps: 0, .01, .02, .30, .97
        (Entropy, [1, 4, 3, 2, 0]),  # nats: 1.099, .949, .898, .693, .112
    ],
)
def test_ranking_of_a_hand_built_table(cls, expected):
    for seed in range(5):  # no ties here, so the generator does not matter
        assert cls().select(Candidates(TABLE), 5, gen(seed)).tolist() == expected


@pytest.mark.parametrize("cls", [LeastConfidence, Margin, Entropy])
def test_budget_takes_the_top_of_the_ranking(cls):
    full = cls().select(Candidates(TABLE), 5, gen())
    assert cls().select(Candidates(TABLE), 2, gen()).tolist() == full[:2].tolist()


@pytest.mark.parametrize("cls", STRATEGIES)
def test_labeled_candidates_are_never_chosen_again(cls):
    candidates = Candidates(TABLE, labeled=torch.tensor([1, 2]), labels=torch.tensor([0, 1]))
    chosen = cls().select(candidates, 10, gen())
    assert sorted(chosen.tolist()) == [0, 3, 4]


@pytest.mark.parametrize("cls", STRATEGIES)
def test_budget_zero_and_budget_larger_than_the_pool(cls):
    assert cls().select(Candidates(TABLE), 0, gen()).tolist() == []
    assert cls().select(Candidates(TABLE), 0, gen()).dtype == torch.long
    assert sorted(cls().select(Candidates(TABLE), 50, gen()).tolist()) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("cls", STRATEGIES)
def test_all_equal_probabilities_give_the_random_order(cls):
    flat = Candidates(torch.full((12, 4), 0.25))
    orders = {tuple(cls().select(flat, 12, gen(seed)).tolist()) for seed in range(6)}
    assert len(orders) > 1, "equal scores must come out in random order"
    for seed in range(3):
        same = cls().select(flat, 12, gen(seed))
        assert torch.equal(same, RandomQuery().select(flat, 12, gen(seed))), "ties follow the generator's order"


@pytest.mark.parametrize("cls", [LeastConfidence, Margin, Entropy])
def test_rows_that_are_permutations_of_each_other_tie(cls):
    rows = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.7, 0.2], [0.2, 0.1, 0.7], [0.99, 0.005, 0.005]])
    candidates = Candidates(rows)
    firsts = set()
    for seed in range(20):
        ranking = cls().select(candidates, 4, gen(seed)).tolist()
        assert ranking[-1] == 3 and sorted(ranking[:3]) == [0, 1, 2]
        firsts.add(ranking[0])
    assert firsts == {0, 1, 2}, "each of the tied rows should sometimes come first"
    assert torch.equal(cls().select(candidates, 4, gen(7)), cls().select(candidates, 4, gen(7)))


def test_margin_with_a_single_class_is_defined():
    one = Candidates(torch.ones(6, 1))
    assert sorted(Margin().select(one, 6, gen()).tolist()) == list(range(6))


def test_random_is_uniform_over_candidates():
    counts = torch.zeros(10)
    for seed in range(400):
        counts[RandomQuery().select(Candidates(torch.full((10, 2), 0.5)), 1, gen(seed))] += 1
    assert counts.min() > 20 and counts.max() < 65, counts.tolist()


@pytest.mark.parametrize("cls", [*STRATEGIES, QueryByCommittee])
def test_conformance_kit(cls):
    testing.check_query_strategy(cls)
