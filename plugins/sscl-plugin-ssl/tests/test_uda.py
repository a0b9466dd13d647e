"""UDA: sharpened weak-view targets, the confidence mask, the masked KL loss, gradient only through the strong view,
and training-signal annealing of the labeled loss."""

import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from sscl_core import SemiBatch
from sscl_plugin_ssl.uda import (
    UnsupervisedDataAugmentation,
    confidence_mask,
    sharpened_targets,
    tsa_mask,
    tsa_threshold,
    uda_loss,
)


def make_batch(
    x: torch.Tensor | None = None,
    y: torch.Tensor | None = None,
    u_weak: torch.Tensor | None = None,
    u_strong: torch.Tensor | None = None,
) -> SemiBatch:
    x = torch.zeros(0, 2) if x is None else x
    y = torch.zeros(0, dtype=torch.long) if y is None else y
    return SemiBatch(
        x=x,
        y=y,
        index=torch.arange(len(x)),
        task_id=0,
        x_raw=torch.zeros(len(x), 2, dtype=torch.uint8),
        u_weak=u_weak,
        u_strong=u_strong,
        u_index=None if u_weak is None else torch.arange(len(u_weak)),
        u_raw=None if u_weak is None else torch.zeros(len(u_weak), 2, dtype=torch.uint8),
    )


def identity_linear() -> nn.Linear:
    model = nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.copy_(torch.eye(2))
        model.bias.zero_()
    return model


def kl_by_hand(target: list[float], logits: list[float]) -> float:
    normalizer = sum(math.exp(v) for v in logits)
    return sum(t * math.log(t / (math.exp(v) / normalizer)) for t, v in zip(target, logits, strict=True) if t > 0)


def test_targets_are_sharpened_by_the_softmax_temperature():
    # logits (ln 2, 0): T = 0.5 gives (4, 1) / 5; T = 0.4 gives (2^2.5, 1) / (2^2.5 + 1) = (0.84978, 0.15022)
    logits = torch.tensor([[math.log(2.0), 0.0]])
    assert sharpened_targets(logits, 0.5)[0].tolist() == pytest.approx([0.8, 0.2], rel=1e-6)
    assert sharpened_targets(logits, 0.4)[0].tolist() == pytest.approx([0.849779, 0.150221], rel=1e-5)
    assert sharpened_targets(logits, 1.0)[0].tolist() == pytest.approx([2 / 3, 1 / 3], rel=1e-6)


def test_confidence_mask_uses_the_unsharpened_softmax_and_passes_exactly_at_the_threshold():
    logits = torch.tensor([[math.log(4.0), 0.0], [0.0, 1.0], [2.0, 0.0]])
    confidence = torch.softmax(logits, dim=1).max(dim=1).values
    at = float(confidence[0])
    assert at == pytest.approx(0.8, rel=1e-6)
    # row 1: 1 / (1 + e^-1) = 0.731 < 0.8; row 2: 1 / (1 + e^-2) = 0.881 (sharpened with 0.4 it would be 0.993)
    assert confidence_mask(logits, at).tolist() == [1.0, 0.0, 1.0]
    just_above = float(torch.nextafter(confidence[0], torch.tensor(1.0)))
    assert confidence_mask(logits, just_above).tolist() == [0.0, 0.0, 1.0]
    assert confidence_mask(logits, 0.9).tolist() == [0.0, 0.0, 0.0]


def test_kl_is_zero_for_a_prediction_equal_to_its_target():
    logits = torch.tensor([[1.0, -2.0, 0.5], [0.0, 0.0, 3.0]])
    loss = uda_loss(logits, torch.softmax(logits, dim=1), torch.ones(2))
    assert loss.item() == pytest.approx(0.0, abs=1e-7)


def test_uda_loss_is_the_masked_mean_of_the_kl_by_hand():
    strong = torch.tensor([[0.0, 0.0], [1.0, 0.0], [2.0, -1.0]])
    targets = torch.tensor([[0.9, 0.1], [0.5, 0.5], [1.0, 0.0]])
    mask = torch.tensor([1.0, 0.0, 1.0])
    expected = (kl_by_hand([0.9, 0.1], [0.0, 0.0]) + kl_by_hand([1.0, 0.0], [2.0, -1.0])) / 3
    assert uda_loss(strong, targets, mask).item() == pytest.approx(expected, rel=1e-6)


def test_losses_of_a_linear_model_by_hand():
    # row 0: softmax(2, 0) max 0.881 >= 0.8 and its target softmax(5, 0); row 1: 0.731 is masked
    weak = torch.tensor([[2.0, 0.0], [1.0, 0.0]])
    strong = torch.tensor([[0.0, 0.0], [3.0, -3.0]])
    ctx = SimpleNamespace(model=identity_linear())
    losses = UnsupervisedDataAugmentation().losses(make_batch(u_weak=weak, u_strong=strong), ctx)
    assert set(losses) == {"uda"}
    p = 1.0 / (1.0 + math.exp(-5.0))
    assert losses["uda"].item() == pytest.approx(kl_by_hand([p, 1.0 - p], [0.0, 0.0]) / 2, rel=1e-5)


def test_gradient_flows_only_through_the_strong_view():
    weak = torch.tensor([[3.0, 0.0], [0.0, 4.0]], requires_grad=True)
    strong = torch.tensor([[0.0, 1.0], [1.0, 0.0]], requires_grad=True)
    model = identity_linear()
    loss = UnsupervisedDataAugmentation().losses(make_batch(u_weak=weak, u_strong=strong), SimpleNamespace(model=model))
    loss["uda"].backward()
    assert weak.grad is None
    assert strong.grad is not None and strong.grad.abs().sum() > 0
    assert model.weight.grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        # K = 10: eta = 0.9 alpha + 0.1
        ("linear", [0.1, 0.55, 1.0]),  # alpha = t
        ("log", [0.1, 0.9261235, 0.9939358]),  # alpha = 1 - e^(-5t): 0, 0.917915, 0.993262
        ("exp", [0.1060642, 0.1738765, 1.0]),  # alpha = e^(5(t-1)): 0.006738, 0.082085, 1
    ],
)
def test_tsa_thresholds_by_hand(schedule, expected):
    got = [tsa_threshold(schedule, t, 10) for t in (0.0, 0.5, 1.0)]
    assert got == pytest.approx(expected, abs=1e-6)


def test_tsa_threshold_rejects_unknown_schedules():
    with pytest.raises(ValueError, match="unknown TSA schedule"):
        tsa_threshold("none", 0.5, 10)


def test_tsa_mask_keeps_only_samples_strictly_below_the_threshold():
    probs = torch.tensor([0.3, 0.55, 0.7, 0.549])
    assert tsa_mask(probs, 0.55).tolist() == [1.0, 0.0, 0.0, 1.0]


def tsa_ctx(model: nn.Module, task_iter: int, iters_per_task: int = 10, num_classes: int = 2) -> SimpleNamespace:
    return SimpleNamespace(
        model=model,
        task_iter=task_iter,
        config=SimpleNamespace(train=SimpleNamespace(iters_per_task=iters_per_task)),
        stream=SimpleNamespace(num_classes=num_classes),
    )


def test_before_iter_weighs_labeled_samples_by_the_tsa_mask():
    # linear at t = 5/10 with K = 2: eta = 0.5 * 0.5 + 0.5 = 0.75. True-class probabilities:
    # 0.5 (kept), 1/(1+e^-2) = 0.881 (dropped), 1/(1+e^1) = 0.269 (kept), 1/(1+e^-1) = 0.731 (kept)
    x = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    y = torch.tensor([1, 0, 0, 1])
    batch = make_batch(x=x, y=y)
    UnsupervisedDataAugmentation(tsa="linear").before_iter(ctx=tsa_ctx(identity_linear(), 5), batch=batch)
    assert batch.labeled_weight.tolist() == [1.0, 0.0, 1.0, 1.0]
    # at t = 0 the threshold is 1/K = 0.5: only the 0.269 sample stays
    batch = make_batch(x=x, y=y)
    UnsupervisedDataAugmentation(tsa="linear").before_iter(ctx=tsa_ctx(identity_linear(), 0), batch=batch)
    assert batch.labeled_weight.tolist() == [0.0, 0.0, 1.0, 0.0]


def test_before_iter_multiplies_a_weight_already_set_and_takes_no_gradient():
    x = torch.tensor([[0.0, 0.0], [2.0, 0.0]])
    batch = make_batch(x=x, y=torch.tensor([1, 0]))
    batch.labeled_weight = torch.tensor([0.5, 2.0])
    model = identity_linear()
    UnsupervisedDataAugmentation(tsa="log").before_iter(ctx=tsa_ctx(model, 5), batch=batch)
    # log at t = 0.5, K = 2: eta = 0.5 * (1 - e^-2.5) + 0.5 = 0.959; both 0.5 and 0.881 are below
    assert batch.labeled_weight.tolist() == [0.5, 2.0]
    assert not batch.labeled_weight.requires_grad
    assert model.weight.grad is None


def test_without_tsa_before_iter_neither_runs_the_model_nor_sets_a_weight():
    def fail(_x):
        raise AssertionError("the model ran although TSA is off")

    batch = make_batch(x=torch.zeros(2, 2), y=torch.tensor([0, 1]))
    UnsupervisedDataAugmentation().before_iter(ctx=tsa_ctx(fail, 3), batch=batch)
    assert batch.labeled_weight is None


def test_defaults_and_validation():
    uda = UnsupervisedDataAugmentation()
    assert (uda.temperature, uda.confidence_threshold, uda.tsa, uda.weight) == (0.4, 0.8, "none", 1.0)
    assert UnsupervisedDataAugmentation.views == ("weak", "strong")
    assert uda.state_dict() == {}
    with pytest.raises(ValueError):
        UnsupervisedDataAugmentation(tsa="cosine")
    with pytest.raises(ValueError):
        UnsupervisedDataAugmentation(temperature=0.0)
    with pytest.raises(ValueError):
        UnsupervisedDataAugmentation(confidence_threshold=1.5)
