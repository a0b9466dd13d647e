"""Summary metrics of accuracy matrices, checked on hand-computed examples."""

import pytest

from sscl_core.api.evaluator import (
    average_forgetting,
    backward_transfer,
    final_average_accuracy,
    mean_average_accuracy,
    summarize,
)

R = [
    [90.0, None, None],
    [70.0, 80.0, None],
    [60.0, 75.0, 85.0],
]


def test_mean_average_accuracy():
    assert mean_average_accuracy(R) == pytest.approx((90 + 75 + (60 + 75 + 85) / 3) / 3)


def test_final_average_accuracy():
    assert final_average_accuracy(R) == pytest.approx((60 + 75 + 85) / 3)


def test_forgetting_uses_best_earlier_accuracy():
    assert average_forgetting(R) == pytest.approx(((90 - 60) + (80 - 75)) / 2)


def test_backward_transfer():
    assert backward_transfer(R) == pytest.approx(((60 - 90) + (75 - 80)) / 2)


def test_single_task_has_no_forgetting():
    assert summarize([[50.0]]) == {
        "mean_average_accuracy": 50.0,
        "final_average_accuracy": 50.0,
        "average_forgetting": 0.0,
        "backward_transfer": 0.0,
    }
