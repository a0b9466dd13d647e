"""FlexMatch: class-wise thresholds from the stored learning status, the state's updates, resets and checkpoints."""

import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from sscl_core import SemiBatch, Task
from sscl_plugin_ssl.flexmatch import UNUSED, FlexMatch, class_thresholds, record_confident

TAU = 0.95
NUM_CLASSES = 5
CLASSES = (0, 1, 2)


def make_task(task_id: int, classes: tuple[int, ...], n: int) -> Task:
    return Task(
        id=task_id,
        classes=classes,
        train_x=torch.zeros(n, 1, 2, 2, dtype=torch.uint8),
        test_x=torch.zeros(0, 1, 2, 2, dtype=torch.uint8),
        test_y=torch.zeros(0, dtype=torch.long),
        oracle_y=torch.zeros(n, dtype=torch.long),
    )


def confident_logits(rows: list[tuple[int, float]]) -> torch.Tensor:
    """Logits whose softmax gives probability p to class c and spreads the rest evenly, per row (c, p)."""
    logits = torch.empty(len(rows), NUM_CLASSES)
    for i, (c, p) in enumerate(rows):
        logits[i] = math.log((1 - p) / (NUM_CLASSES - 1))
        logits[i, c] = math.log(p)
    return logits


def unlabeled_batch(u_weak: torch.Tensor, u_strong: torch.Tensor, u_index: list[int]) -> SemiBatch:
    n = u_weak.shape[0]
    return SemiBatch(
        x=torch.zeros(0, NUM_CLASSES),
        y=torch.zeros(0, dtype=torch.long),
        index=torch.zeros(0, dtype=torch.long),
        task_id=0,
        x_raw=torch.zeros(0, 1, dtype=torch.uint8),
        u_weak=u_weak,
        u_strong=u_strong,
        u_index=torch.tensor(u_index),
        u_raw=torch.zeros(n, 1, dtype=torch.uint8),
    )


# 10 samples: two stored as class 0, one as 1, none as 2, one as class 4 (outside the task), six unused.
STATUS = torch.tensor([0, 1, 0, 4, -1, -1, -1, -1, -1, -1])
# sigma = (2, 1, 0); with warm-up beta = sigma / max(2, 6) = (1/3, 1/6, 0), without it sigma / 2 = (1, 1/2, 0).
EXPECTED_SCALE = {
    ("convex", True): [(1 / 3) / (2 - 1 / 3), (1 / 6) / (2 - 1 / 6), 0.0],  # 1/5, 1/11, 0
    ("linear", True): [1 / 3, 1 / 6, 0.0],
    ("concave", True): [math.log2(4 / 3), math.log2(7 / 6), 0.0],
    ("convex", False): [1.0, 1 / 3, 0.0],
    ("linear", False): [1.0, 0.5, 0.0],
    ("concave", False): [1.0, math.log2(1.5), 0.0],
}


@pytest.mark.parametrize(("mapping", "warmup"), sorted(EXPECTED_SCALE))
def test_class_thresholds_by_hand(mapping, warmup):
    thresholds = class_thresholds(STATUS, CLASSES, NUM_CLASSES, TAU, mapping, warmup)
    expected = [s * TAU for s in EXPECTED_SCALE[(mapping, warmup)]] + [TAU, TAU]
    torch.testing.assert_close(thresholds, torch.tensor(expected))


def test_convex_warmup_numbers_are_the_simple_fractions():
    thresholds = class_thresholds(STATUS, CLASSES, NUM_CLASSES, TAU)
    torch.testing.assert_close(thresholds[:3], torch.tensor([TAU / 5, TAU / 11, 0.0]))


def test_warmup_only_matters_while_unused_samples_outnumber_the_best_class():
    status = torch.tensor([0, 0, 0, 0, 0, 1, 1, 2, -1, -1])
    with_warmup = class_thresholds(status, CLASSES, NUM_CLASSES, TAU, "linear", True)
    without = class_thresholds(status, CLASSES, NUM_CLASSES, TAU, "linear", False)
    torch.testing.assert_close(with_warmup, without)
    torch.testing.assert_close(without[:3], torch.tensor([1.0, 0.4, 0.2]) * TAU)


def test_nothing_learned_yet_gives_zero_thresholds_for_the_task_classes():
    status = torch.full((10,), UNUSED)
    for warmup in (True, False):
        thresholds = class_thresholds(status, CLASSES, NUM_CLASSES, TAU, "convex", warmup)
        torch.testing.assert_close(thresholds, torch.tensor([0.0, 0.0, 0.0, TAU, TAU]))


def test_record_confident_stores_at_tau_and_keeps_the_rest():
    predictions = torch.tensor([2, -1, -1, 1, -1])
    probs = torch.tensor([[0.95, 0.05, 0.0], [0.1, 0.9, 0.0], [0.0, 0.0, 1.0], [0.2, 0.2, 0.6]])
    at_tau = float(probs[0, 0])
    record_confident(predictions, torch.tensor([0, 1, 2, 3]), probs, at_tau)
    assert predictions.tolist() == [0, -1, 2, 1, -1], "overwrite at exactly tau, keep old entries below it"


def test_losses_use_the_stored_status_then_record_the_batch():
    flex = FlexMatch(threshold_warmup=False)
    task = make_task(0, CLASSES, 10)
    flex.before_task(task=task)
    flex.predictions.copy_(STATUS)
    # Convex thresholds without warm-up: class 0 -> 0.95, class 1 -> 0.95 / 3, class 2 -> 0, classes 3, 4 -> 0.95.
    weak = confident_logits([(0, 0.9), (1, 0.5), (1, 0.3), (3, 0.9), (4, 0.97), (2, 0.99), (2, 0.25)])
    strong = torch.zeros(7, NUM_CLASSES)
    strong[:, 0], strong[:, 1] = 1.0, 2.0
    ctx = SimpleNamespace(model=nn.Identity(), task=task)
    loss = flex.losses(unlabeled_batch(weak, strong, [3, 4, 5, 6, 7, 8, 9]), ctx)
    assert set(loss) == {"flexmatch"}
    log_sum_exp = math.log(math.e + math.e**2 + 3)
    # Row 0 (class 0, 0.9 < 0.95), row 2 (class 1, 0.3 < 0.317) and row 3 (class 3 out of the task, 0.9 < tau)
    # are masked; row 1 (class 1), row 4 (class 4 at 0.97 >= tau), rows 5 and 6 (class 2, threshold 0) pass.
    expected = ((log_sum_exp - 2.0) + 3 * log_sum_exp) / 7
    assert loss["flexmatch"].item() == pytest.approx(expected, rel=1e-5)
    assert flex.predictions.tolist() == [0, 1, 0, 4, -1, -1, -1, 4, 2, -1], "only rows at tau or above are stored"


def test_thresholds_of_an_iteration_come_from_the_state_before_it():
    flex = FlexMatch(mapping="linear")
    task = make_task(0, CLASSES, 4)
    ctx = SimpleNamespace(model=nn.Identity(), task=task)
    weak = confident_logits([(1, 0.97), (1, 0.5)])
    batch = unlabeled_batch(weak, torch.zeros(2, NUM_CLASSES), [0, 1])
    probs = torch.softmax(weak, dim=1)
    first = flex.thresholds(probs, batch, ctx)
    torch.testing.assert_close(first, torch.zeros(2))  # nothing stored yet: beta 0 for every task class
    assert flex.predictions.tolist() == [1, -1, -1, -1]
    second = flex.thresholds(probs, batch, ctx)
    # sigma(1) = 1, three unused: beta(1) = 1 / 3
    torch.testing.assert_close(second, torch.full((2,), TAU / 3))


def test_no_gradient_through_the_weak_branch():
    flex = FlexMatch()
    task = make_task(0, CLASSES, 3)
    weak = confident_logits([(0, 0.99), (1, 0.99), (2, 0.2)]).requires_grad_()
    strong = torch.randn(3, NUM_CLASSES, generator=torch.Generator().manual_seed(0)).requires_grad_()
    ctx = SimpleNamespace(model=nn.Identity(), task=task)
    flex.losses(unlabeled_batch(weak, strong, [0, 1, 2]), ctx)["flexmatch"].backward()
    assert weak.grad is None
    assert bool(strong.grad.abs().sum() > 0)


def test_state_resets_at_task_start_and_is_created_lazily():
    flex = FlexMatch()
    assert flex.predictions is None
    first, second = make_task(0, (0, 1), 6), make_task(1, (2, 3), 4)
    weak = confident_logits([(0, 0.99)])
    batch = unlabeled_batch(weak, torch.zeros(1, NUM_CLASSES), [5])
    flex.losses(batch, SimpleNamespace(model=nn.Identity(), task=first))
    assert flex.predictions.tolist() == [-1, -1, -1, -1, -1, 0] and flex.predictions_task == 0
    flex.before_task(task=second)
    assert flex.predictions.tolist() == [-1] * 4 and flex.predictions_task == 1


def test_state_dict_round_trip_and_mismatched_restores_are_not_used():
    flex = FlexMatch()
    task = make_task(3, CLASSES, 10)
    flex.before_task(task=task)
    flex.predictions.copy_(STATUS)
    state = flex.state_dict()
    assert state["task"] == 3
    restored = FlexMatch()
    restored.load_state_dict(state)
    flex.predictions.fill_(UNUSED)
    assert restored.predictions.tolist() == STATUS.tolist(), "the restore is a copy"
    ctx = SimpleNamespace(model=nn.Identity(), task=task)
    probs = torch.softmax(confident_logits([(0, 0.5)]), dim=1)
    row_threshold = restored.thresholds(probs, unlabeled_batch(probs, probs, [9]), ctx)
    torch.testing.assert_close(row_threshold, torch.tensor([TAU / 5]))

    other = make_task(4, CLASSES, 10)
    stale = FlexMatch()
    stale.load_state_dict(state)
    stale.thresholds(probs, unlabeled_batch(probs, probs, [9]), SimpleNamespace(model=nn.Identity(), task=other))
    assert stale.predictions.tolist() == [-1] * 10 and stale.predictions_task == 4
    resized = FlexMatch()
    resized.load_state_dict(state)
    bigger = make_task(3, CLASSES, 12)
    resized.thresholds(probs, unlabeled_batch(probs, probs, [9]), SimpleNamespace(model=nn.Identity(), task=bigger))
    assert resized.predictions.tolist() == [-1] * 12

    empty = FlexMatch()
    empty.load_state_dict(FlexMatch().state_dict())
    assert empty.predictions is None


def test_hyperparameters_and_defaults():
    flex = FlexMatch()
    assert (flex.threshold, flex.mapping, flex.threshold_warmup, flex.name) == (0.95, "convex", True, "flexmatch")
    with pytest.raises(ValueError):
        FlexMatch(mapping="cubic")
