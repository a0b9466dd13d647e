"""Each task maps small grey images to a number through its own linear function; a network learns them in turn."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sscl_core import Dataset, Evaluator, Model, Task, TaskStream, component, hookimpl, param
from sscl_regression import PROBLEM


class ScaledImages:
    """Transforms of the stream: images scaled to [0, 1], plus pixel noise in the training views."""

    def weak(self, images: Tensor, generator: torch.Generator) -> Tensor:
        """Scaled images plus light noise."""
        return images.float() / 255 + 0.02 * torch.randn(images.shape, generator=generator).to(images.device)

    def strong(self, images: Tensor, generator: torch.Generator) -> Tensor:
        """Scaled images plus heavier noise."""
        return images.float() / 255 + 0.1 * torch.randn(images.shape, generator=generator).to(images.device)

    def test(self, images: Tensor) -> Tensor:
        """Scaled images."""
        return images.float() / 255


@component
class LinearTargets(Dataset):
    """Tasks of random 1x8x8 images whose target is the image's dot product with a per-task weight map."""

    name = "linear-targets"
    problem: ClassVar[str] = PROBLEM
    default_model: ClassVar[dict[str, Any]] = {"name": "regressor"}
    default_evaluator: ClassVar[dict[str, Any]] = {"name": "negative-mse"}
    tasks: int = param(3, help="number of tasks")
    train_size: int = param(64, help="training images per task")
    labels: int = param(16, help="labeled training images per task")

    def build_stream(self, seed: int) -> TaskStream:
        """Images and weight maps from a fixed generator; the labeled images from ``seed``."""
        data, pick = torch.Generator().manual_seed(99), torch.Generator().manual_seed(seed)
        tasks = []
        for t in range(self.tasks):
            weights = torch.randn((1, 8, 8), generator=data) / 8
            train_x = torch.randint(0, 256, (self.train_size, 1, 8, 8), generator=data, dtype=torch.uint8)
            test_x = torch.randint(0, 256, (32, 1, 8, 8), generator=data, dtype=torch.uint8)

            def target(x: Tensor, weights: Tensor = weights) -> Tensor:
                return (x.float() / 255 * weights).sum(dim=(1, 2, 3))

            labeled = torch.randperm(self.train_size, generator=pick)[: self.labels].sort().values
            tasks.append(
                Task(
                    id=t,
                    classes=(),
                    train_x=train_x,
                    test_x=test_x,
                    test_y=target(test_x),
                    oracle_y=target(train_x),
                    labeled_index=labeled,
                )
            )
        return TaskStream(
            tasks=tasks, scenario=self.scenario, num_classes=0, input_shape=(1, 8, 8), transforms=ScaledImages()
        )


class RegressionNetwork(nn.Module):
    """Backbone features and a linear output of one number per image."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.out = nn.Linear(int(backbone.out_features), 1)

    def forward(self, x: Tensor) -> Tensor:
        """One prediction per image (N,)."""
        return self.out(self.backbone(x)).squeeze(1)

    def loss(self, outputs: Tensor, targets: Tensor, reduction: str = "mean") -> Tensor:
        """Squared error of the predictions."""
        return F.mse_loss(outputs, targets.to(outputs.dtype), reduction=reduction)


@component
class Regressor(Model):
    """The run's backbone with a linear output."""

    name = "regressor"
    problems: ClassVar[tuple[str, ...]] = (PROBLEM,)

    def build(self, stream: TaskStream, backbone: Any) -> nn.Module:
        """The backbone for the stream's input shape and one output."""
        return RegressionNetwork(backbone.build(stream.input_shape))


@component
class NegativeMSE(Evaluator):
    """Minus the mean squared error on each seen task's test images (higher is better)."""

    name = "negative-mse"
    problems: ClassVar[tuple[str, ...]] = (PROBLEM,)
    metrics: ClassVar[tuple[str, ...]] = ("neg-mse",)
    result_key: ClassVar[str] = "regression"

    @torch.no_grad()
    def evaluate(self, ctx: Any) -> dict[str, list[float]]:
        """-MSE of the method's outputs per seen task."""
        ctx.model.eval()
        scores = []
        for task in ctx.stream.tasks[: ctx.task_index + 1]:
            x = ctx.stream.transforms.test(task.test_x.to(ctx.device))
            predicted = ctx.method.eval_logits(x, task.id, ctx)
            scores.append(-float(F.mse_loss(predicted, task.test_y.to(ctx.device))))
        ctx.model.train()
        return {"neg-mse": scores}


@hookimpl
def register_datasets(register):
    """The regression stream."""
    register(LinearTargets)


@hookimpl
def register_models(register):
    """Its model."""
    register(Regressor)


@hookimpl
def register_evaluators(register):
    """Its evaluator."""
    register(NegativeMSE)
