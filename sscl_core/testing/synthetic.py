"""The conformance kit's tiny world: a synthetic stream, a one-layer backbone, a plain cross-entropy method and a
callback that stops a run like a kill, in a registry of their own."""

import math
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from sscl_core.api.backbone import Backbone
from sscl_core.api.callback import Callback
from sscl_core.api.components import component, param
from sscl_core.api.dataset import Dataset
from sscl_core.api.hookspecs import hookimpl
from sscl_core.api.method import Method
from sscl_core.api.task import Task, TaskStream
from sscl_core.classification.accuracy import Accuracy
from sscl_core.classification.model import Classifier
from sscl_core.config.run_config import RunConfig, load_config
from sscl_core.plugins.registry import KINDS, Registry
from sscl_core.run.trainer import RunResult, Trainer

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
