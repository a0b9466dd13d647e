"""One component of each kind, each in another style: attrs (mutable and frozen), dataclasses, plain classes."""

from __future__ import annotations

import dataclasses
from typing import Any

import attrs
import torch
from torch import Tensor, nn

from sscl_core import Backbone, Callback, Dataset, MemoryPool, Method, QueryStrategy, UnlabeledLoss, hookimpl
from sscl_core.testing import SyntheticDataset


@attrs.define
class AttrsReplay(Method):
    """attrs' default style (value equality, so unhashable): cross-entropy on the batch and on replayed samples."""

    name = "styled-replay"
    uses_memory_pool = True
    default_memory_pool = {"name": "styled-pool", "size": 16}
    replay: int = attrs.field(default=4, metadata={"help": "samples replayed per iteration"})
    steps: int = attrs.field(default=0, init=False)

    def forward_train(self, batch: Any, ctx: Any) -> dict[str, Tensor]:
        """Labeled cross-entropy plus cross-entropy on ``replay`` samples of the pool."""
        self.steps += 1
        losses = {"ce": nn.functional.cross_entropy(ctx.model(batch.x), batch.y)}
        drawn = ctx.memory_pool.sample(self.replay, ctx.generator)
        if drawn is not None:
            x = ctx.stream.transforms.weak(drawn["x"], ctx.generator).to(ctx.device)
            losses["replay"] = nn.functional.cross_entropy(ctx.model(x), drawn["y"].to(ctx.device))
        ctx.memory_pool.add(batch.labeled_samples(), ctx.generator)
        return losses

    def state_dict(self) -> dict[str, Any]:
        """The step counter."""
        return {"steps": self.steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the step counter."""
        self.steps = state["steps"]


@attrs.frozen
class FrozenConsistency(UnlabeledLoss):
    """A frozen attrs loss: squared distance between the predictions on the weak and the strong view."""

    name = "styled-consistency"
    temperature: float = attrs.field(default=1.0, metadata={"help": "softmax temperature"})

    def losses(self, batch: Any, ctx: Any) -> dict[str, Tensor]:
        """Mean squared distance of the two views' class probabilities (the weak one without gradient)."""
        with torch.no_grad():
            target = torch.softmax(ctx.model(batch.u_weak) / self.temperature, dim=1)
        pred = torch.softmax(ctx.model(batch.u_strong) / self.temperature, dim=1)
        return {"consistency": ((pred - target) ** 2).sum(dim=1).mean()}


@dataclasses.dataclass
class IterationCounter(Callback):
    """A dataclass callback (value equality, unhashable) that counts iterations and logs the count per task."""

    name = "styled-counter"
    every: int = dataclasses.field(default=1, metadata={"help": "count one in this many iterations"})
    count: int = dataclasses.field(default=0, init=False)

    @hookimpl
    def after_iter(self, ctx: Any) -> None:
        """Count the iteration."""
        if ctx.task_iter % self.every == 0:
            self.count += 1

    @hookimpl
    def after_task(self, ctx: Any) -> None:
        """Log the count so far."""
        ctx.log("styled_count", count=self.count)

    def state_dict(self) -> dict[str, Any]:
        """The count."""
        return {"count": self.count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the count."""
        self.count = state["count"]


class PlainPool(MemoryPool):
    """A plain class with ``__eq__`` (so unhashable): a first-in-first-out pool of at most ``size`` samples."""

    name = "styled-pool"

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self.stored: dict[str, Tensor] = {}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PlainPool) and self.size == other.size

    def add(self, samples: dict[str, Tensor], generator: torch.Generator) -> None:
        """Append the samples, dropping the oldest beyond ``size``."""
        for key, value in samples.items():
            kept = torch.cat([self.stored[key], value]) if key in self.stored else value.clone()
            self.stored[key] = kept[-self.size :] if self.size else kept[:0]

    def sample(self, n: int, generator: torch.Generator) -> dict[str, Tensor] | None:
        """Up to ``n`` stored samples drawn with replacement."""
        if not len(self):
            return None
        pick = torch.randint(0, len(self), (n,), generator=generator)
        return {key: value[pick] for key, value in self.stored.items()}

    def __len__(self) -> int:
        return len(self.stored["x"]) if self.stored else 0

    def ram_bytes(self) -> int:
        """Bytes of the stored tensors."""
        return sum(v.numel() * v.element_size() for v in self.stored.values())

    def state_dict(self) -> dict[str, Any]:
        """The stored tensors."""
        return {"stored": dict(self.stored)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the stored tensors."""
        self.stored = dict(state["stored"])


class PlainLeastConfidence(QueryStrategy):
    """A plain class without ``__eq__``: label the candidates whose top probability is lowest."""

    name = "styled-least-confidence"

    def __init__(self, power: float = 1.0) -> None:
        self.power = power

    def select(self, candidates: Any, budget: int, generator: torch.Generator) -> Tensor:
        """The ``budget`` unlabeled candidates of lowest top probability (raised to ``power``)."""
        pool = candidates.unlabeled()
        score = candidates.probs[pool].max(dim=1).values ** self.power
        return pool[torch.argsort(score, stable=True)[:budget]]


@dataclasses.dataclass(frozen=True)
class FrozenDataclassStream(Dataset):
    """A frozen dataclass dataset: the conformance kit's synthetic stream with its own number of tasks."""

    name = "styled-stream"
    tasks: int = dataclasses.field(default=3, metadata={"help": "number of tasks"})

    def build_stream(self, seed: int) -> Any:
        """The synthetic stream with ``tasks`` tasks of two classes, in this dataset's scenario."""
        return SyntheticDataset(num_tasks=self.tasks, scenario=self.scenario).build_stream(seed)


class PlainMLP(Backbone):
    """A plain-class backbone whose ``__init__`` parameters are its hyperparameters."""

    name = "styled-mlp"

    def __init__(self, width: int = 24, depth: int = 1) -> None:
        self.width = width
        self.depth = depth

    def build(self, input_shape: tuple[int, int, int]) -> nn.Module:
        """Flatten, then ``depth`` linear + ReLU layers of ``width`` units."""
        inputs = input_shape[0] * input_shape[1] * input_shape[2]
        layers: list[nn.Module] = [nn.Flatten()]
        for i in range(self.depth):
            layers += [nn.Linear(inputs if i == 0 else self.width, self.width), nn.ReLU()]
        net = nn.Sequential(*layers)
        net.out_features = self.width
        return net


COMPONENTS = {
    "method": [AttrsReplay],
    "unlabeled_loss": [FrozenConsistency],
    "callback": [IterationCounter],
    "memory_pool": [PlainPool],
    "query_strategy": [PlainLeastConfidence],
    "dataset": [FrozenDataclassStream],
    "backbone": [PlainMLP],
}
"""The package's components by kind."""
