"""A conformance kit for plugin authors: check a component on a tiny synthetic stream, with no other plugin.

Typical use in a plugin's tests::

    from sscl_core import testing

    def test_my_method_conforms(tmp_path):
        testing.check_method(MyMethod, tmp_path)

``check_method`` trains the method on a two-task synthetic stream and asserts that it returns finite
named losses, changes the model, and gives the same accuracy matrices twice for one seed.
``check_resume`` stops a run in the middle of its second task, resumes it from the checkpoint and asserts the
same accuracy matrices as the uninterrupted run. ``check_memory_pool`` checks a pool's budget, sampling and
state round trip; ``check_query_strategy`` a query strategy's budgets and determinism;
``check_unlabeled_loss`` an unlabeled loss composed with a plain cross-entropy method (trains, adds its terms,
is deterministic, resumes).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from sscl_core.backbone import Backbone
from sscl_core.callback import Callback
from sscl_core.classification.accuracy import Accuracy
from sscl_core.classification.model import Classifier
from sscl_core.components import build, component, param
from sscl_core.config import RunConfig, load_config
from sscl_core.dataset import Dataset
from sscl_core.hookspecs import hookimpl
from sscl_core.memory import MemoryPool
from sscl_core.method import Method
from sscl_core.query import Candidates, QueryStrategy
from sscl_core.registry import KINDS, Registry
from sscl_core.task import Task, TaskStream
from sscl_core.trainer import RunResult, Trainer
from sscl_core.unlabeled import UnlabeledLoss

KILL_MARK = "conformance-killed"
"""File that :class:`KillAt` leaves in the run directory it stopped, so the resumed run is not stopped again."""


class SimulatedKill(BaseException):
    """Raised by :class:`KillAt` to stop a run abruptly, like a kill: no plugin or trainer handler catches it."""


@component
class KillAt(Callback):
    """Stops a run like a kill (raises :class:`SimulatedKill`) right after global iteration ``at``, once per run
    directory, so resuming the same config runs to the end."""

    name = "conformance-kill"
    at: int = param(-1, help="global iteration after which the run is stopped (-1: never)")

    @hookimpl
    def after_iter(self, ctx: Any) -> None:
        """Raise SimulatedKill at iteration ``at`` unless this run directory was stopped before."""
        mark = ctx.run_dir / KILL_MARK
        if ctx.global_iter == self.at and not mark.exists():
            mark.touch()
            raise SimulatedKill


class SyntheticTransforms:
    """Transforms of the synthetic stream: weak adds light pixel noise, strong adds heavy noise."""

    def _to_float(self, images: Tensor) -> Tensor:
        return images.float() / 127.5 - 1.0

    def weak(self, images: Tensor, generator: torch.Generator) -> Tensor:
        """Images plus light noise drawn per pixel."""
        noise = torch.randn(images.shape, generator=generator).to(images.device)
        return self._to_float(images) + 0.05 * noise

    def strong(self, images: Tensor, generator: torch.Generator) -> Tensor:
        """Images plus heavy noise drawn per pixel."""
        noise = torch.randn(images.shape, generator=generator).to(images.device)
        return self._to_float(images) + 0.3 * noise

    def test(self, images: Tensor) -> Tensor:
        """Images scaled to [-1, 1]."""
        return self._to_float(images)


@component
class SyntheticDataset(Dataset):
    """A tiny stream of noisy class prototypes: learnable in a few iterations, built without files."""

    name = "synthetic"
    num_tasks: int = param(2, help="number of tasks")
    classes_per_task: int = param(2, help="classes per task")
    image_size: int = param(8, help="side of the square grey images")
    train_per_class: int = param(24, help="training images per class")
    test_per_class: int = param(12, help="test images per class")
    labels_per_class: int = param(4, help="labeled images per class")

    def build_stream(self, seed: int) -> TaskStream:
        """Prototypes fixed by a constant seed; label choice by ``seed``."""
        classes = self.num_tasks * self.classes_per_task
        shape = (1, self.image_size, self.image_size)
        protos = torch.rand((classes, *shape), generator=torch.Generator().manual_seed(1234)) * 255

        def images(n: int, label: int, gen: torch.Generator) -> Tensor:
            noisy = protos[label] + 110 * torch.randn((n, *shape), generator=gen)
            return noisy.clamp(0, 255).to(torch.uint8)

        data_gen = torch.Generator().manual_seed(4321)
        label_gen = torch.Generator().manual_seed(seed)
        tasks = []
        for t in range(self.num_tasks):
            task_classes = tuple(range(t * self.classes_per_task, (t + 1) * self.classes_per_task))
            train_x = torch.cat([images(self.train_per_class, c, data_gen) for c in task_classes])
            train_y = torch.tensor(task_classes).repeat_interleave(self.train_per_class)
            test_x = torch.cat([images(self.test_per_class, c, data_gen) for c in task_classes])
            test_y = torch.tensor(task_classes).repeat_interleave(self.test_per_class)
            labeled = torch.cat(
                [
                    i * self.train_per_class
                    + torch.randperm(self.train_per_class, generator=label_gen)[: self.labels_per_class]
                    for i in range(len(task_classes))
                ]
            )
            tasks.append(
                Task(
                    id=t,
                    classes=task_classes,
                    train_x=train_x,
                    test_x=test_x,
                    test_y=test_y,
                    oracle_y=train_y,
                    labeled_index=labeled,
                )
            )
        return TaskStream(
            tasks=tasks,
            scenario=self.scenario,
            num_classes=classes,
            input_shape=shape,
            transforms=SyntheticTransforms(),
        )


class _TinyNet(nn.Module):
    def __init__(self, inputs: int, width: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Flatten(), nn.Linear(inputs, width), nn.ReLU())
        self.out_features = width

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


@component
class TinyBackbone(Backbone):
    """A one-layer perceptron backbone for conformance tests."""

    name = "tiny-mlp"
    width: int = param(32, help="hidden units")

    def build(self, input_shape: tuple[int, int, int]) -> nn.Module:
        """Flatten, linear, ReLU."""
        return _TinyNet(math.prod(input_shape), self.width)


@component
class LabeledCrossEntropy(Method):
    """Cross-entropy on the labeled batch, honoring ``batch.labeled_weight``: the method unlabeled losses are
    checked with."""

    name = "conformance-ce"

    def forward_train(self, batch: Any, ctx: Any) -> dict[str, Tensor]:
        """The (weighted) labeled cross-entropy."""
        per_sample = torch.nn.functional.cross_entropy(ctx.model(batch.x), batch.y, reduction="none")
        if batch.labeled_weight is None:
            return {"ce": per_sample.mean()}
        weight = batch.labeled_weight.to(per_sample.dtype)
        return {"ce": (per_sample * weight).sum() / weight.sum().clamp(min=1.0)}


def make_registry(*classes: type) -> Registry:
    """A registry holding the synthetic dataset, the tiny backbone, :class:`KillAt`, the built-in classifier and
    accuracy evaluator, and ``classes`` (kinds found by base class)."""
    registry = Registry()
    for cls in (SyntheticDataset, TinyBackbone, KillAt, LabeledCrossEntropy, Classifier, Accuracy, *classes):
        kind = next(k for k, (_hook, base) in KINDS.items() if issubclass(cls, base))
        registry.add(kind, cls, "sscl-core.testing")
    return registry


def tiny_config(output_dir: Path | str, method: str | dict[str, Any], overrides: list[str] = ()) -> RunConfig:
    """A RunConfig on the synthetic stream with the tiny backbone and a short schedule."""
    base = [
        f"output_dir={output_dir}",
        "dataset=synthetic",
        "backbone=tiny-mlp",
        "device=cpu",
        "train.iters_per_task=12",
        "train.batch_size=4",
        "train.uratio=2",
        "train.virtual_epoch_iters=5",
    ]
    config = load_config(overrides=[*base, *overrides])
    config.method = {"name": method} if isinstance(method, str) else dict(method)
    return config


def run_tiny(
    registry: Registry, output_dir: Path | str, method: str | dict[str, Any], overrides: list[str] = ()
) -> RunResult:
    """Train ``method`` on the synthetic stream and return the result."""
    return Trainer(tiny_config(output_dir, method, overrides), registry).run()


def check_method(
    method_cls: type[Method], tmp_path: Path, extra: tuple[type, ...] = (), overrides: list[str] = ()
) -> RunResult:
    """Assert that a method trains on the synthetic stream, changes the model and is deterministic.

    ``extra`` adds components it needs (e.g. its memory pool); ``overrides`` are ``--set`` style settings.
    """
    registry = make_registry(method_cls, *extra)
    seen_losses: list[dict[str, float]] = []
    first_params: list[Tensor] = []

    @component
    class _Probe(Callback):
        name = "conformance-probe"

        @hookimpl
        def before_run(self, ctx: Any) -> None:
            first_params.extend(p.detach().clone() for p in ctx.model.parameters())

        @hookimpl
        def after_iter(self, losses: dict[str, float]) -> None:
            seen_losses.append(losses)

    registry.add("callback", _Probe, "sscl-core.testing")
    result = run_tiny(registry, tmp_path / "a", method_cls.name, [*overrides, "callbacks=[conformance-probe]"])
    assert seen_losses, "the method was never trained"
    assert all(isinstance(v, float) and math.isfinite(v) for losses in seen_losses for v in losses.values()), (
        "forward_train returned a non-finite loss"
    )
    assert all(losses for losses in seen_losses), "forward_train returned no loss"
    again = run_tiny(registry, tmp_path / "b", method_cls.name, overrides)
    assert result.metrics["accuracy"] == again.metrics["accuracy"], "the same seed gave different accuracy matrices"
    return result


def check_resume(
    method_cls: type[Method], tmp_path: Path, extra: tuple[type, ...] = (), overrides: list[str] = ()
) -> RunResult:
    """Assert that a run stopped in the middle of its second task (of three) and resumed from its checkpoint
    ends with the same accuracy matrices, bit for bit, as the same run uninterrupted.

    Fails when the method (or its pool) keeps state outside ``state_dict``, draws random numbers from another
    generator than ``ctx.generator`` or the torch global one, or puts objects other than tensors and plain data
    in its state. Returns the resumed run's result.
    """
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
    """Assert that a strategy returns min(budget, unlabeled) distinct unlabeled candidates, repeatably.

    Checks budgets 0, 7 and more than the pool, with and without labeled candidates, and that the choice
    depends only on the generator it is given (not on the torch global RNG). ``settings`` are hyperparameters.
    """
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
    """Assert that an unlabeled loss, composed with :class:`LabeledCrossEntropy` on the synthetic stream, adds
    finite terms of its own to the method's losses, gives the same accuracy matrices twice for one seed, and
    resumes bit for bit from a checkpoint taken in the middle of a run (so its state is in ``state_dict``).
    ``overrides`` are ``--set`` style settings (``unlabeled.KEY=VALUE`` for the loss's own)."""
    settings = [*overrides, f"unlabeled.name={loss_cls.name}"]
    registry = make_registry(loss_cls)
    seen_losses: list[dict[str, float]] = []

    @component
    class _Probe(Callback):
        name = "conformance-probe"

        @hookimpl
        def after_iter(self, losses: dict[str, float]) -> None:
            seen_losses.append(losses)

    registry.add("callback", _Probe, "sscl-core.testing")
    method = LabeledCrossEntropy.name
    result = run_tiny(registry, tmp_path / "a", method, [*settings, "callbacks=[conformance-probe]"])
    own = [name for losses in seen_losses for name in losses if name != "ce"]
    assert own, "the unlabeled loss never added a term to the method's losses"
    assert all(math.isfinite(v) for losses in seen_losses for v in losses.values()), "a loss was not finite"
    again = run_tiny(registry, tmp_path / "b", method, settings)
    assert result.metrics["accuracy"] == again.metrics["accuracy"], "the same seed gave different accuracy matrices"
    check_resume(LabeledCrossEntropy, tmp_path / "resume", extra=(loss_cls,), overrides=settings)
    return result
