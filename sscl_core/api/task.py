"""Tasks and task streams: what a continual run learns, in order."""

from collections.abc import Iterator
from typing import Any, Protocol

import attrs
import torch
from torch import Tensor

from sscl_core.api.samples import take

SCENARIOS = ("task-il", "class-il", "domain-il")


class BatchTransforms(Protocol):
    """Batched image transforms of a stream: uint8 images (N, C, H, W) in, normalized float images out."""

    def weak(self, images: Tensor, generator: torch.Generator) -> Tensor:
        """A weak view of each image (e.g. random crop and flip), drawn independently per image."""

    def strong(self, images: Tensor, generator: torch.Generator) -> Tensor:
        """A strong view of each image (weak plus RandAugment-style ops and Cutout), drawn per image."""

    def test(self, images: Tensor) -> Tensor:
        """The deterministic evaluation view (only conversion and normalization)."""


@attrs.define(eq=False)
class Task:
    """One task of a split-semi stream: every training image (the unlabeled pool, uint8) and which carry labels, read
    from the oracle only by :meth:`acquire_labels`; targets are class ids for classification, a list for other kinds;
    images may stay on disk in an object that reads a batch's rows (:mod:`sscl_core.api.samples`)."""

    id: int
    classes: tuple[int, ...]
    train_x: Tensor | list[Any]
    test_x: Tensor | list[Any]
    test_y: Tensor | list[Any]
    oracle_y: Tensor | list[Any] = attrs.field(repr=False)
    labeled_index: Tensor = attrs.field(factory=lambda: torch.zeros(0, dtype=torch.long))

    def __len__(self) -> int:
        """Number of training images (the size of the unlabeled pool)."""
        return len(self.train_x)

    @property
    def labeled_x(self) -> Any:
        """The labeled images, uint8."""
        return take(self.train_x, self.labeled_index)

    @property
    def labeled_y(self) -> Any:
        """Targets of the labeled images (global class ids, for classification)."""
        return take(self.oracle_y, self.labeled_index)

    def acquire_labels(self, indices: Tensor) -> Tensor:
        """The oracle's labels of training images ``indices``, now added to the labeled set (each once)."""
        indices = torch.as_tensor(indices, dtype=torch.long).flatten()
        if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= len(self)):
            raise IndexError(f"task {self.id}: label request outside 0..{len(self) - 1}")
        known = set(self.labeled_index.tolist())
        new = [i for i in dict.fromkeys(indices.tolist()) if i not in known]
        self.labeled_index = torch.cat([self.labeled_index, torch.tensor(new, dtype=torch.long)])
        return take(self.oracle_y, indices)

    def labelable(self) -> Tensor:
        """A bool mask over the training images: those the oracle can label (all of them, unless the dataset keeps
        images that have no label at all in the pool, as extra unlabeled data)."""
        return torch.ones(len(self), dtype=torch.bool)

    def clear_labels(self) -> None:
        """Forget every label of this task (before an active-learning strategy picks them again)."""
        self.labeled_index = torch.zeros(0, dtype=torch.long)


@attrs.define(eq=False)
class TaskStream:
    """An ordered sequence of tasks with the scenario, the class space and the stream's transforms."""

    tasks: list[Task]
    scenario: str
    num_classes: int
    input_shape: tuple[int, int, int]
    transforms: BatchTransforms
    class_names: tuple[str, ...] = ()
    left_out_classes: tuple[int, ...] = ()
    """Classes of the source data that no task uses (the dataset left them out because its config says so)."""

    def __len__(self) -> int:
        """Number of tasks."""
        return len(self.tasks)

    def __iter__(self) -> Iterator[Task]:
        """The tasks in order."""
        return iter(self.tasks)

    def __getitem__(self, index: int) -> Task:
        """Task number ``index``."""
        return self.tasks[index]

    def classes_up_to(self, task_index: int) -> list[int]:
        """Every class of tasks 0..task_index, in stream order."""
        return [c for task in self.tasks[: task_index + 1] for c in task.classes]
