"""MixMatch: guessed labels averaged over views and sharpened, the Beta MixUp weight, mixing with the shuffled pool,
the squared-error loss, and determinism given the run's generator."""

import math
import statistics
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from sscl_core import SemiBatch
from sscl_core.testing import SyntheticTransforms
from sscl_plugin_ssl.mixmatch import (
    MixMatch,
    guess_targets,
    mix_unlabeled,
    mixmatch_loss,
    mixup_lambda,
    sample_gamma,
)


def test_guess_of_one_view_is_sharpened_by_hand():
    # [0.6, 0.4] ** 2 = [0.36, 0.16], / 0.52
    guess = guess_targets(torch.tensor([[[0.6, 0.4]]]), 0.5)
    assert guess[0].tolist() == pytest.approx([0.6923077, 0.3076923], rel=1e-6)


def test_guess_is_the_mean_over_the_views_then_sharpened():
    views = torch.tensor([[[0.8, 0.2], [0.1, 0.9]], [[0.4, 0.6], [0.3, 0.7]]])
    assert guess_targets(views, 1.0).tolist() == [pytest.approx([0.6, 0.4]), pytest.approx([0.2, 0.8])]
    # [0.2, 0.8] ** 2 = [0.04, 0.64], / 0.68
    sharpened = guess_targets(views, 0.5)
    assert sharpened[0].tolist() == pytest.approx([0.6923077, 0.3076923], rel=1e-6)
    assert sharpened[1].tolist() == pytest.approx([0.0588235, 0.9411765], rel=1e-6)


class FixedWeak:
    """Transforms whose weak view is always ``view``; records the arguments of every call."""

    def __init__(self, view: torch.Tensor):
        self.view = view
        self.calls = []

    def weak(self, images, generator):
        self.calls.append((images, generator))
        return self.view


def test_component_guess_averages_u_weak_and_fresh_weak_views_of_u_raw():
    # identity model: u_weak logits (ln 4, 0) give [0.8, 0.2]; the fresh view (ln 2/3, 0) gives [0.4, 0.6]
    u_weak = torch.tensor([[math.log(4.0), 0.0]])
    fresh = torch.tensor([[math.log(2.0 / 3.0), 0.0]])
    transforms = FixedWeak(fresh)
    generator = torch.Generator()
    u_raw = torch.tensor([[7, 9]], dtype=torch.uint8)
    ctx = SimpleNamespace(
        model=nn.Identity(),
        device=torch.device("cpu"),
        generator=generator,
        stream=SimpleNamespace(transforms=transforms),
    )
    batch = SemiBatch(
        x=torch.zeros(0, 2),
        y=torch.zeros(0, dtype=torch.long),
        index=torch.zeros(0, dtype=torch.long),
        task_id=0,
        x_raw=torch.zeros(0, 2, dtype=torch.uint8),
        u_weak=u_weak,
        u_index=torch.arange(1),
        u_raw=u_raw,
    )
    views, targets = MixMatch().guess(batch, ctx)
    assert len(views) == 2 and views[0] is u_weak and views[1] is fresh
    assert targets[0].tolist() == pytest.approx([0.6923077, 0.3076923], rel=1e-6)
    assert not targets.requires_grad
    assert len(transforms.calls) == 1
    assert torch.equal(transforms.calls[0][0], u_raw) and transforms.calls[0][1] is generator
    views, targets = MixMatch(augmentations=3, temperature=1.0).guess(batch, ctx)
    assert len(views) == 3 and len(transforms.calls) == 3
    assert targets[0].tolist() == pytest.approx([(0.8 + 0.4 + 0.4) / 3, (0.2 + 0.6 + 0.6) / 3], rel=1e-6)


@pytest.mark.parametrize("alpha", [0.1, 0.75, 1.0, 4.0])
def test_mixup_lambda_is_at_least_one_half(alpha):
    generator = torch.Generator().manual_seed(3)
    draws = [mixup_lambda(alpha, generator) for _ in range(300)]
    assert all(0.5 <= lam <= 1.0 for lam in draws)
    assert max(draws) > 0.6, "lambda' is not stuck at 0.5"


def test_mixup_lambda_follows_the_folded_beta_distribution():
    generator = torch.Generator().manual_seed(0)
    # Beta(0.75, 0.75) has variance 1 / (4 (2 alpha + 1)) = 0.1, and (lambda' - 1/2)^2 = (lambda - 1/2)^2
    draws = [mixup_lambda(0.75, generator) for _ in range(3000)]
    assert statistics.fmean((lam - 0.5) ** 2 for lam in draws) == pytest.approx(0.1, abs=0.008)
    # Beta(1, 1) is uniform, so lambda' is uniform on [0.5, 1]: mean 0.75
    uniform = [mixup_lambda(1.0, generator) for _ in range(3000)]
    assert statistics.fmean(uniform) == pytest.approx(0.75, abs=0.01)


@pytest.mark.parametrize("shape", [0.75, 2.5])
def test_gamma_draws_have_the_right_mean_and_variance(shape):
    generator = torch.Generator().manual_seed(1)
    draws = [sample_gamma(shape, generator) for _ in range(3000)]
    assert all(d > 0 for d in draws)
    assert statistics.fmean(draws) == pytest.approx(shape, rel=0.06)
    assert statistics.variance(draws) == pytest.approx(shape, rel=0.15)
    with pytest.raises(ValueError):
        sample_gamma(0.0, generator)


def test_lambda_is_deterministic_given_the_generator():
    first = [mixup_lambda(0.75, torch.Generator().manual_seed(5)) for _ in range(2)]
    assert first[0] == first[1]
    assert mixup_lambda(0.75, torch.Generator().manual_seed(6)) != first[0]


def test_mixing_of_inputs_and_targets_by_hand():
    labeled_x, labeled_p = torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 0.0]])
    unlabeled_x = torch.tensor([[0.0, 1.0], [2.0, 2.0]])
    unlabeled_p = torch.tensor([[0.5, 0.5], [0.2, 0.8]])
    # concat = [l0, u0, u1]; permutation [2, 0, 1] gives W = [u1, l0, u0]; the unlabeled partners are W[1:]
    x, p = mix_unlabeled(labeled_x, labeled_p, unlabeled_x, unlabeled_p, 0.75, torch.tensor([2, 0, 1]))
    assert x.tolist() == [pytest.approx([0.25, 0.75]), pytest.approx([1.5, 1.75])]
    assert p.tolist() == [pytest.approx([0.625, 0.375]), pytest.approx([0.275, 0.725])]
    x, p = mix_unlabeled(labeled_x, labeled_p, unlabeled_x, unlabeled_p, 1.0, torch.tensor([1, 2, 0]))
    assert torch.equal(x, unlabeled_x) and torch.equal(p, unlabeled_p)


def test_loss_value_by_hand():
    # softmax(0, 0) = [0.5, 0.5] against [1, 0]: 0.25 + 0.25; softmax(ln 3, 0) = [0.75, 0.25] against [0.5, 0.5]:
    # 0.0625 + 0.0625; averaged over 2 rows and 2 classes
    logits = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0]])
    targets = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    assert mixmatch_loss(logits, targets).item() == pytest.approx(0.15625, rel=1e-6)
    assert mixmatch_loss(logits, torch.softmax(logits, dim=1)).item() == pytest.approx(0.0, abs=1e-12)


def image_batch() -> SemiBatch:
    images = torch.Generator().manual_seed(11)
    u_raw = torch.randint(0, 256, (3, 1, 2, 2), generator=images, dtype=torch.uint8)
    x_raw = torch.randint(0, 256, (2, 1, 2, 2), generator=images, dtype=torch.uint8)
    transforms = SyntheticTransforms()
    return SemiBatch(
        x=transforms.test(x_raw),
        y=torch.tensor([2, 0]),
        index=torch.arange(2),
        task_id=0,
        x_raw=x_raw,
        u_weak=transforms.test(u_raw),
        u_index=torch.arange(3),
        u_raw=u_raw,
    )


def image_ctx(seed: int) -> SimpleNamespace:
    torch.manual_seed(0)
    return SimpleNamespace(
        model=nn.Sequential(nn.Flatten(), nn.Linear(4, 3)),
        device=torch.device("cpu"),
        generator=torch.Generator().manual_seed(seed),
        stream=SimpleNamespace(transforms=SyntheticTransforms(), num_classes=3),
    )


def test_losses_replayed_by_hand_from_the_same_generator():
    batch, ctx = image_batch(), image_ctx(4)
    loss = MixMatch().losses(batch, ctx)["mixmatch"]
    loss.backward()
    assert ctx.model[1].weight.grad.abs().sum() > 0

    replay = torch.Generator().manual_seed(4)
    fresh = SyntheticTransforms().weak(batch.u_raw, replay)
    lam = mixup_lambda(0.75, replay)
    permutation = torch.randperm(2 + 6, generator=replay)
    with torch.no_grad():
        probs = (torch.softmax(ctx.model(batch.u_weak), 1) + torch.softmax(ctx.model(fresh), 1)) / 2
        guess = probs**2 / (probs**2).sum(dim=1, keepdim=True)
        pool_x = [*batch.x, *batch.u_weak, *fresh]
        pool_p = [*torch.eye(3)[batch.y], *guess, *guess]
        # the unlabeled views are pool entries 2..7; entry i is mixed with the shuffled pool's entry i
        mixed_x = torch.stack([lam * pool_x[i] + (1 - lam) * pool_x[permutation[i]] for i in range(2, 8)])
        mixed_p = torch.stack([lam * pool_p[i] + (1 - lam) * pool_p[permutation[i]] for i in range(2, 8)])
        expected = ((torch.softmax(ctx.model(mixed_x), 1) - mixed_p) ** 2).sum() / (6 * 3)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_losses_are_deterministic_given_the_seed():
    first = MixMatch().losses(image_batch(), image_ctx(7))["mixmatch"].item()
    again = MixMatch().losses(image_batch(), image_ctx(7))["mixmatch"].item()
    other = MixMatch().losses(image_batch(), image_ctx(8))["mixmatch"].item()
    assert first == again
    assert other != first


def test_defaults_schedule_and_validation():
    mixmatch = MixMatch()
    assert (mixmatch.augmentations, mixmatch.temperature, mixmatch.mixup_alpha) == (2, 0.5, 0.75)
    assert MixMatch.views == ("weak",)
    # weight 75 reached linearly over the first 40% of each task
    assert [mixmatch.weight_at(k, 1000) for k in (0, 200, 400, 999)] == [0.0, 37.5, 75.0, 75.0]
    assert mixmatch.state_dict() == {}
    for bad in ({"ramp": 1.5}, {"weight": -1.0}, {"augmentations": 0}, {"temperature": 0.0}, {"mixup_alpha": 0.0}):
        with pytest.raises(ValueError):
            MixMatch(**bad)
