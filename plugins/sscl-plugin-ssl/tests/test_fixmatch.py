"""FixMatch: confident weak-view pseudo-labels, the masked strong-view cross-entropy, gradient only through strong."""

import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from sscl_core import SemiBatch
from sscl_plugin_ssl.fixmatch import FixMatch, fixmatch_loss


def unlabeled_batch(u_weak: torch.Tensor, u_strong: torch.Tensor) -> SemiBatch:
    n = u_weak.shape[0]
    return SemiBatch(
        x=torch.zeros(0, 2),
        y=torch.zeros(0, dtype=torch.long),
        index=torch.zeros(0, dtype=torch.long),
        task_id=0,
        x_raw=torch.zeros(0, 2, dtype=torch.uint8),
        u_weak=u_weak,
        u_strong=u_strong,
        u_index=torch.arange(n),
        u_raw=torch.zeros(n, 2, dtype=torch.uint8),
    )


def identity_linear() -> nn.Linear:
    model = nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.copy_(torch.eye(2))
        model.bias.zero_()
    return model


def cross_entropy_by_hand(logits: list[float], label: int) -> float:
    return math.log(sum(math.exp(v) for v in logits)) - logits[label]


def test_loss_of_a_linear_model_by_hand():
    # weak logits = inputs: row 0 has p(class 1) = 1 / (1 + e^-4) = 0.982 >= 0.95, row 1 has 1 / (1 + e^-1) = 0.73
    weak = torch.tensor([[0.0, 4.0], [1.0, 0.0]])
    strong = torch.tensor([[0.5, -0.5], [2.0, 1.0]])
    ctx = SimpleNamespace(model=identity_linear())
    losses = FixMatch().losses(unlabeled_batch(weak, strong), ctx)
    assert set(losses) == {"fixmatch"}
    expected = cross_entropy_by_hand([0.5, -0.5], 1) / 2
    assert losses["fixmatch"].item() == pytest.approx(expected, rel=1e-6)


def test_no_confident_row_gives_zero_loss():
    weak = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    ctx = SimpleNamespace(model=identity_linear())
    loss = FixMatch().losses(unlabeled_batch(weak, torch.randn(2, 2)), ctx)["fixmatch"]
    assert loss.item() == 0.0


def test_threshold_exactly_reached_passes_and_just_below_does_not():
    logits = torch.tensor([[0.0, 3.0], [0.0, 3.0], [2.0, 0.0]])
    confidence = torch.softmax(logits, dim=1).max(dim=1).values
    at = float(confidence[0])
    just_above = float(torch.nextafter(confidence[0], torch.tensor(1.0)))
    strong = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    ctx = SimpleNamespace(model=nn.Identity())
    ce = [cross_entropy_by_hand([1.0, 0.0], 1), cross_entropy_by_hand([0.0, 0.0], 1)]
    exactly = FixMatch(threshold=at).losses(unlabeled_batch(logits, strong), ctx)["fixmatch"]
    assert exactly.item() == pytest.approx(sum(ce) / 3, rel=1e-6), "rows 0 and 1 are exactly at the threshold"
    below = FixMatch(threshold=just_above).losses(unlabeled_batch(logits, strong), ctx)["fixmatch"]
    assert below.item() == 0.0, "every row's confidence is now just below the threshold"
    lower = FixMatch(threshold=float(confidence[2])).losses(unlabeled_batch(logits, strong), ctx)["fixmatch"]
    expected = (sum(ce) + cross_entropy_by_hand([0.0, 1.0], 0)) / 3
    assert lower.item() == pytest.approx(expected, rel=1e-6), "row 2's pseudo-label is class 0"


def test_fixmatch_loss_averages_over_all_rows_and_uses_the_pseudo_labels():
    strong = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, 3.0], [0.0, 5.0, 0.0]])
    labels = torch.tensor([0, 1, 1, 2])
    mask = torch.tensor([1.0, 0.0, 1.0, 0.0])
    expected = (cross_entropy_by_hand([2.0, 0.0, 0.0], 0) + cross_entropy_by_hand([1.0, 1.0, 3.0], 1)) / 4
    assert fixmatch_loss(strong, labels, mask).item() == pytest.approx(expected, rel=1e-6)


def test_ties_pick_the_first_class():
    weak = torch.tensor([[2.0, 2.0]])
    strong = torch.tensor([[0.0, 1.0]])
    loss = FixMatch(threshold=0.5).losses(unlabeled_batch(weak, strong), SimpleNamespace(model=nn.Identity()))
    assert loss["fixmatch"].item() == pytest.approx(cross_entropy_by_hand([0.0, 1.0], 0), rel=1e-6)


def test_gradient_flows_only_through_the_strong_branch():
    model = identity_linear()
    weak = torch.tensor([[0.0, 4.0], [5.0, 0.0], [0.2, 0.0]], requires_grad=True)
    strong = torch.tensor([[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]], requires_grad=True)
    FixMatch().losses(unlabeled_batch(weak, strong), SimpleNamespace(model=model))["fixmatch"].backward()
    assert weak.grad is None
    assert strong.grad is not None and bool(strong.grad[:2].abs().sum() > 0)
    assert bool((strong.grad[2] == 0).all()), "row 2 is below the threshold"
    # d/dW of mean_i mask_i CE(W s_i, y_i) = sum_i mask_i (softmax(W s_i) - onehot(y_i)) s_i^T / N, W = I, b = 0
    targets = torch.nn.functional.one_hot(torch.tensor([1, 0, 0]), 2).float()
    mask = torch.tensor([[1.0], [1.0], [0.0]])
    residual = (torch.softmax(strong.detach(), dim=1) - targets) * mask / 3
    torch.testing.assert_close(model.weight.grad, residual.T @ strong.detach())
    torch.testing.assert_close(model.bias.grad, residual.sum(dim=0))


def test_threshold_must_be_a_probability():
    with pytest.raises(ValueError):
        FixMatch(threshold=0.0)
    with pytest.raises(ValueError):
        FixMatch(threshold=1.5)
    assert FixMatch().threshold == 0.95
    assert FixMatch.views == ("weak", "strong")
