"""Composing a method with an unlabeled loss: the schedule, the config shorthand, the trainer and the checkpoint."""

from __future__ import annotations

import json
import math
from typing import Any, ClassVar

import pytest
import torch
from torch import Tensor

from sscl_core import SsclError, UnlabeledLoss, component, hookimpl, param
from sscl_core.api.unlabeled import ramp_factor
from sscl_core.config.run_config import load_config
from sscl_core.run.trainer import Trainer
from sscl_core.testing import check_unlabeled_loss, make_registry, run_tiny, tiny_config


@component
class Consistency(UnlabeledLoss):
    """Squared distance between the predictions on the two views; counts its calls and the views it saw."""

    name = "test-consistency"
    calls: int = param(0, help="calls so far (state, kept in state_dict)")
    seen: ClassVar[list[tuple[int, int, bool, bool]]] = []

    def losses(self, batch: Any, ctx: Any) -> dict[str, Tensor]:
        """MSE between the softmax of both views."""
        self.calls += 1
        Consistency.seen.append((ctx.task_index, ctx.task_iter, batch.u_weak is not None, batch.u_strong is not None))
        weak = torch.softmax(ctx.model(batch.u_weak), dim=1).detach()
        strong = torch.softmax(ctx.model(batch.u_strong), dim=1)
        return {"consistency": ((weak - strong) ** 2).mean() * (1 + self.calls % 3)}

    def state_dict(self) -> dict[str, Any]:
        """The call count (the loss depends on it, so a resume must restore it)."""
        return {"calls": self.calls}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the call count."""
        self.calls = int(state["calls"])


@component
class WeakOnly(Consistency):
    """Reads only the weak view: the strong one must not be built."""

    name = "test-weak-only"
    views = ("weak",)

    def losses(self, batch: Any, ctx: Any) -> dict[str, Tensor]:
        """Entropy of the weak view's predictions."""
        Consistency.seen.append((ctx.task_index, ctx.task_iter, batch.u_weak is not None, batch.u_strong is not None))
        p = torch.softmax(ctx.model(batch.u_weak), dim=1)
        return {"weak_entropy": -(p * p.clamp_min(1e-8).log()).sum(1).mean()}


@component
class Clashing(Consistency):
    """Names its loss like the method's."""

    name = "test-clash"

    def losses(self, batch: Any, ctx: Any) -> dict[str, Tensor]:
        """A loss called 'ce'."""
        return {"ce": ctx.model(batch.u_weak).sum() * 0}


@component
class LabeledMask(Consistency):
    """Leaves the first labeled sample out of the supervised loss through ``batch.labeled_weight``."""

    name = "test-labeled-mask"
    masked: ClassVar[list[Tensor]] = []

    @hookimpl
    def before_iter(self, batch: Any) -> None:
        """Weight 0 for the first labeled sample."""
        weight = torch.ones(len(batch.y))
        weight[0] = 0
        batch.labeled_weight = weight
        LabeledMask.masked.append(weight)


def test_ramp_shapes_run_from_zero_to_one():
    for shape in ("linear", "cosine", "sigmoid"):
        assert ramp_factor(shape, 1.0) == pytest.approx(1.0)
        assert ramp_factor(shape, 2.0) == pytest.approx(1.0)
        values = [ramp_factor(shape, p / 10) for p in range(11)]
        assert values == sorted(values)
    assert ramp_factor("linear", 0.25) == 0.25
    assert ramp_factor("cosine", 0.5) == pytest.approx(0.5)
    assert ramp_factor("cosine", 0.0) == 0.0
    assert ramp_factor("sigmoid", 0.0) == pytest.approx(math.exp(-5))


def test_weight_follows_warmup_then_ramp():
    loss = Consistency(weight=2.0, warmup=0.2, ramp=0.4, ramp_shape="linear")
    weights = [loss.weight_at(k, 100) for k in range(100)]
    assert weights[:20] == [0.0] * 20
    assert weights[20] == 0.0 and weights[30] == pytest.approx(0.5) and weights[40] == pytest.approx(1.0)
    assert weights[60:] == [2.0] * 40
    assert Consistency().weight_at(0, 100) == 1.0


@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_schedule_fractions_are_validated(value):
    with pytest.raises(ValueError, match="warmup must be a fraction"):
        Consistency(warmup=value)


def test_method_shorthand_splits_into_method_and_unlabeled_loss(tmp_path):
    config = load_config(components={"method": "der+fixmatch"}, overrides=["unlabeled.threshold=0.9"])
    assert config.method == {"name": "der"}
    assert config.unlabeled == {"name": "fixmatch", "threshold": 0.9}
    file = tmp_path / "c.yaml"
    file.write_text("method: {name: er+uda, replay_batch_size: 4}\nunlabeled: {weight: 2}\n")
    config = load_config(file)
    assert config.method == {"name": "er", "replay_batch_size": 4}
    assert config.unlabeled == {"name": "uda", "weight": 2}
    assert load_config(file, components={"method": "der"}).unlabeled is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("method: der+uda\nunlabeled: fixmatch\n", "names the unlabeled loss 'uda', but unlabeled.name is 'fixmatch'"),
        ("method: der+\n", "is not METHOD\\+UNLABELED_LOSS"),
        ("method: der+uda+fixmatch\n", "is not METHOD\\+UNLABELED_LOSS"),
    ],
)
def test_bad_compositions_are_one_clear_error(tmp_path, text, message):
    file = tmp_path / "c.yaml"
    file.write_text(text)
    with pytest.raises(SsclError, match=message):
        load_config(file)


def test_unknown_unlabeled_loss_names_the_installed_ones(tmp_path):
    registry = make_registry(Consistency)
    config = tiny_config(tmp_path, "conformance-ce", ["unlabeled=test-consistensy"])
    with pytest.raises(SsclError, match="unknown unlabeled_loss 'test-consistensy'.*did you mean 'test-consistency'"):
        Trainer(config, registry)


def test_no_unlabeled_view_is_loaded_during_warmup(tmp_path):
    Consistency.seen.clear()
    registry = make_registry(Consistency)
    result = run_tiny(registry, tmp_path, "conformance-ce", ["unlabeled={name: test-consistency, warmup: 0.5}"])
    iters = tiny_config(tmp_path, "conformance-ce").train.iters_per_task
    called = {(task, k) for task, k, _weak, _strong in Consistency.seen}
    assert called == {(t, k) for t in range(2) for k in range(iters // 2, iters)}
    assert all(weak and strong for _t, _k, weak, strong in Consistency.seen)
    assert result.run_dir.name.split("-", 2)[-1].startswith("synthetic-conformance-ce_test-consistency")


def test_views_not_asked_for_are_not_built(tmp_path):
    Consistency.seen.clear()
    run_tiny(make_registry(WeakOnly), tmp_path, "conformance-ce", ["unlabeled=test-weak-only"])
    assert Consistency.seen and all(weak and not strong for _t, _k, weak, strong in Consistency.seen)


def test_loss_weight_scales_the_unlabeled_term(tmp_path):
    registry = make_registry(Consistency)
    seen = {}
    for weight in (1.0, 3.0):
        result = run_tiny(
            registry,
            tmp_path / str(weight),
            "conformance-ce",
            [f"unlabeled={{name: test-consistency, weight: {weight}}}"],
        )
        events = (result.run_dir / "events.jsonl").read_text().splitlines()
        first = next(line for line in events if '"iter"' in line and '"iter": 0' in line)
        seen[weight] = first
    one = json.loads(seen[1.0])["losses"]["consistency"]
    three = json.loads(seen[3.0])["losses"]["consistency"]
    assert three == pytest.approx(3 * one)


def test_loss_named_like_the_methods_is_refused(tmp_path):
    registry = make_registry(Clashing)
    with pytest.raises(
        SsclError, match=r"unlabeled_loss 'test-clash'.*returns losses named like the method's: \['ce'\]"
    ):
        run_tiny(registry, tmp_path, "conformance-ce", ["unlabeled=test-clash"])


def test_labeled_weight_set_by_a_hook_reaches_the_method(tmp_path):
    LabeledMask.masked.clear()
    run_tiny(make_registry(LabeledMask), tmp_path, "conformance-ce", ["unlabeled=test-labeled-mask"])
    assert len(LabeledMask.masked) == 24


def test_resolved_config_and_checkpoint_keep_the_unlabeled_loss(tmp_path):
    registry = make_registry(Consistency)
    result = run_tiny(registry, tmp_path, "conformance-ce", ["unlabeled=test-consistency"])
    text = (result.run_dir / "config.yaml").read_text()
    assert "unlabeled:\n  name: test-consistency\n" in text and "warmup: 0.0" in text
    checkpoint = torch.load(result.run_dir / "checkpoints" / "after-task-2.pt", weights_only=True)
    assert checkpoint["components"]["unlabeled_loss:test-consistency"] == {"calls": 24}


def test_conformance_kit_accepts_a_stateful_unlabeled_loss(tmp_path):
    check_unlabeled_loss(Consistency, tmp_path)
