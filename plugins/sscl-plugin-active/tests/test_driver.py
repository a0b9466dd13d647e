"""The active-learning driver's per-class walk down a ranking."""

import torch

from sscl_plugin_active.driver import take_per_class


def test_take_per_class_walks_the_ranking_until_every_class_budget_is_full():
    ranking, classes = torch.tensor([5, 3, 8, 1, 9, 4]), torch.tensor([0, 0, 1, 0, 1, 1])
    taken, walked = take_per_class(ranking, classes, {0: 1, 1: 2})
    assert taken.tolist() == [5, 8, 9] and walked == 5
    taken, walked = take_per_class(ranking, classes, {0: 2, 1: 0})
    assert taken.tolist() == [5, 3] and walked == 2
    taken, walked = take_per_class(ranking, classes, {0: 9, 1: 1})  # class 0 has fewer than its budget
    assert taken.tolist() == [5, 3, 8, 1] and walked == 6
