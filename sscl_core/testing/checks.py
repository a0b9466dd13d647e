"""The conformance kit's checks: each trains or exercises one component on the synthetic stream."""

import math
from pathlib import Path
from typing import Any

import torch

from sscl_core.api.callback import Callback
from sscl_core.api.components import build, component
from sscl_core.api.hookspecs import hookimpl
from sscl_core.api.memory import MemoryPool
from sscl_core.api.method import Method
from sscl_core.api.query import Candidates, QueryStrategy
from sscl_core.api.unlabeled import UnlabeledLoss
from sscl_core.plugins.registry import Registry
from sscl_core.run.trainer import RunResult, Trainer
from sscl_core.testing.synthetic import LabeledCrossEntropy, SimulatedKill, make_registry, run_tiny, tiny_config


def _train_twice(registry: Registry, tmp_path: Path, method: str, overrides: list[str]) -> tuple[RunResult, list]:
    """Train ``method`` recording every iteration's losses, then again with the same seed: the first result and the
    losses, once the accuracy matrices of both runs are asserted equal."""
    seen_losses: list[dict[str, float]] = []

    @component
    class _Probe(Callback):
        name = "conformance-probe"

        @hookimpl
        def after_iter(self, losses: dict[str, float]) -> None:
            seen_losses.append(losses)

    registry.add("callback", _Probe, "sscl-core.testing")
    result = run_tiny(registry, tmp_path / "a", method, [*overrides, "callbacks=[conformance-probe]"])
    again = run_tiny(registry, tmp_path / "b", method, overrides)
    assert result.metrics["accuracy"] == again.metrics["accuracy"], "the same seed gave different accuracy matrices"
    return result, seen_losses


def check_method(
    method_cls: type[Method], tmp_path: Path, extra: tuple[type, ...] = (), overrides: list[str] = ()
) -> RunResult:
    """Assert that a method trains on the synthetic stream with finite named losses and is deterministic; ``extra``
    adds components it needs (e.g. its memory pool), ``overrides`` are ``--set`` style settings."""
    result, seen_losses = _train_twice(make_registry(method_cls, *extra), tmp_path, method_cls.name, overrides)
    assert seen_losses, "the method was never trained"
    assert all(isinstance(v, float) and math.isfinite(v) for losses in seen_losses for v in losses.values()), (
        "forward_train returned a non-finite loss"
    )
    assert all(losses for losses in seen_losses), "forward_train returned no loss"
    return result


def check_resume(
    method_cls: type[Method], tmp_path: Path, extra: tuple[type, ...] = (), overrides: list[str] = ()
) -> RunResult:
    """Assert that a run stopped in the middle of its second task (of three) and resumed from its checkpoint ends with
    the same accuracy matrices, bit for bit, as the run uninterrupted: it fails on state outside ``state_dict``, random
    draws from a generator other than ``ctx.generator`` or torch's, and state that is not plain data."""
    registry = make_registry(method_cls, *extra)
    iters = tiny_config(tmp_path, method_cls.name, list(overrides)).train.iters_per_task
    settings = [*overrides, "dataset.num_tasks=3"]
    kill = f"callbacks=[{{name: conformance-kill, at: {iters + iters // 2}}}]"
    config = tiny_config(tmp_path / "resumed", method_cls.name, [*settings, kill])
    try:
        Trainer(config, registry).run()
        raise AssertionError("the run ended before the simulated kill")
    except SimulatedKill:
        pass
    (run_dir,) = (tmp_path / "resumed").iterdir()
    resumed = Trainer.resume(run_dir, config, registry).run()
    reference = run_tiny(registry, tmp_path / "reference", method_cls.name, settings)
    assert resumed.metrics["accuracy"] == reference.metrics["accuracy"], (
        "the resumed run's accuracy matrices differ from the uninterrupted run's: some state is not in state_dict() "
        "or some randomness does not come from ctx.generator"
    )
    assert len(resumed.metrics["timing"]["iteration_seconds"]) == 3
    return resumed


def check_memory_pool(pool_cls: type[MemoryPool], size: int = 16) -> None:
    """Assert that a pool respects its size, samples what it holds, and survives a state round trip."""
    pool = build(pool_cls, {"size": size}, f"memory_pool '{pool_cls.name}'")
    gen = torch.Generator().manual_seed(0)
    assert len(pool) == 0 and pool.sample(4, gen) is None
    for start in range(0, 5 * size, 8):
        idx = torch.arange(start, start + 8)
        pool.add(
            {
                "x": torch.full((8, 1, 4, 4), start % 255, dtype=torch.uint8),
                "y": idx % 3,
                "task_id": idx // size,
                "index": idx,
            },
            gen,
        )
        assert len(pool) <= size, f"pool holds {len(pool)} samples, budget {size}"
    drawn = pool.sample(5, gen)
    assert drawn is not None and drawn["x"].shape == (5, 1, 4, 4) and drawn["x"].dtype == torch.uint8
    assert pool.ram_bytes() > 0
    clone = build(pool_cls, {"size": size}, f"memory_pool '{pool_cls.name}'")
    clone.load_state_dict(pool.state_dict())
    assert len(clone) == len(pool)
    a, b = pool.sample(5, torch.Generator().manual_seed(1)), clone.sample(5, torch.Generator().manual_seed(1))
    assert all(torch.equal(a[k], b[k]) for k in a), "a restored pool samples differently"


def check_query_strategy(strategy_cls: type[QueryStrategy], **settings: Any) -> None:
    """Assert that a strategy returns min(budget, unlabeled) distinct unlabeled candidates for budgets 0, 7 and more
    than the pool, with and without labeled candidates, drawing only from its generator (``settings``: its fields)."""
    gen = torch.Generator().manual_seed(0)
    probs = torch.softmax(torch.randn(30, 4, generator=gen), dim=1)
    features = torch.randn(30, 6, generator=gen) if strategy_cls.needs_features else None
    strategy = build(strategy_cls, dict(settings), f"query_strategy '{strategy_cls.name}'")
    first_round = Candidates(probs=probs, features=features)
    later_round = Candidates(
        probs=probs, features=features, labeled=torch.tensor([3, 11, 20, 27, 5]), labels=torch.tensor([0, 1, 2, 3, 0])
    )
    for candidates in (first_round, later_round):
        unlabeled = set(candidates.unlabeled().tolist())
        for budget in (0, 7, 100):
            chosen = strategy.select(candidates, budget, torch.Generator().manual_seed(1))
            assert chosen.dtype == torch.long, f"select returned {chosen.dtype}, not int64 indices"
            assert len(chosen) == min(budget, len(unlabeled)), f"budget {budget}: got {len(chosen)} indices"
            assert len(set(chosen.tolist())) == len(chosen), "select returned an index twice"
            assert set(chosen.tolist()) <= unlabeled, "select returned a labeled or out-of-range index"
        torch.manual_seed(1)
        a = strategy.select(candidates, 7, torch.Generator().manual_seed(2))
        torch.manual_seed(2)
        b = strategy.select(candidates, 7, torch.Generator().manual_seed(2))
        assert torch.equal(a, b), "select must draw randomness only from the generator it is given"


def check_unlabeled_loss(loss_cls: type[UnlabeledLoss], tmp_path: Path, overrides: list[str] = ()) -> RunResult:
    """Assert that an unlabeled loss, composed with :class:`LabeledCrossEntropy`, adds finite terms of its own, is
    deterministic and resumes bit for bit; ``overrides``: ``--set`` settings (``unlabeled.KEY=VALUE`` for its own)."""
    settings = [*overrides, f"unlabeled.name={loss_cls.name}"]
    result, seen_losses = _train_twice(make_registry(loss_cls), tmp_path, LabeledCrossEntropy.name, settings)
    own = [name for losses in seen_losses for name in losses if name != "ce"]
    assert own, "the unlabeled loss never added a term to the method's losses"
    assert all(math.isfinite(v) for losses in seen_losses for v in losses.values()), "a loss was not finite"
    check_resume(LabeledCrossEntropy, tmp_path / "resume", extra=(loss_cls,), overrides=settings)
    return result
