"""The split-semi stream builder: a labelled image dataset cut into tasks of a few classes, few of them labeled.

Subclasses only load their raw arrays (:meth:`SplitSemiDataset.load_data`); this module decides the class
order, which classes form each task, which training images each task holds and which of them carry labels.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import torch
from torch import Tensor

from sscl_core import Dataset, SsclError, Task, TaskStream, component, param
from sscl_core.api.components import close_match
from sscl_plugin_datasets.augment import ImageTransforms

CLASS_ORDERS = ("random", "natural")
"""The named class orders; ``class_order`` may also be an explicit list of class ids."""

SPLIT_SCENARIOS = ("task-il", "class-il")
"""Scenarios a stream split by class can serve (domain-il keeps the classes and changes the inputs)."""


@attrs.define(eq=False)
class RawData:
    """A dataset's decoded arrays: uint8 images (N, C, H, W), int64 labels in 0..len(class_names)-1."""

    train_x: Tensor
    train_y: Tensor
    test_x: Tensor
    test_y: Tensor
    class_names: tuple[str, ...]

    def __attrs_post_init__(self) -> None:
        for images, labels, part in ((self.train_x, self.train_y, "train"), (self.test_x, self.test_y, "test")):
            if images.dtype != torch.uint8 or images.dim() != 4:
                raise ValueError(f"{part} images must be uint8 (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
            if labels.dtype != torch.int64 or labels.shape != (images.shape[0],):
                raise ValueError(
                    f"{part} labels must be int64 ({images.shape[0]},), got {labels.dtype} {tuple(labels.shape)}"
                )
            if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= len(self.class_names)):
                raise ValueError(f"{part} labels must lie in 0..{len(self.class_names) - 1}")
        if self.train_x.shape[1:] != self.test_x.shape[1:]:
            train_shape, test_shape = tuple(self.train_x.shape[1:]), tuple(self.test_x.shape[1:])
            raise ValueError(f"train images {train_shape} and test images {test_shape} differ in shape")

    @property
    def num_classes(self) -> int:
        """Number of classes of the dataset."""
        return len(self.class_names)


def _positive(_instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is not None and value < 1:
        raise ValueError(f"{attribute.name} must be at least 1, got {value!r}")


def _split_scenario(_instance: Any, attribute: attrs.Attribute, value: str) -> None:
    if value not in SPLIT_SCENARIOS:
        hint = close_match(value, SPLIT_SCENARIOS)
        if value == "domain-il":
            hint = ": this dataset splits by class, so use task-il or class-il"
        raise ValueError(f"{attribute.name} must be one of {', '.join(SPLIT_SCENARIOS)}, got {value!r}{hint}")


def _check_class_order(instance: Any, attribute: attrs.Attribute, value: str | list[int]) -> None:
    if isinstance(value, str):
        if value not in CLASS_ORDERS:
            raise ValueError(
                f"{attribute.name} must be 'random', 'natural' or a list of class ids, got {value!r}"
                f"{close_match(value, CLASS_ORDERS)}"
            )
        return
    if not value or not all(isinstance(c, int) and not isinstance(c, bool) for c in value):
        raise ValueError(
            f"{attribute.name} must be 'random', 'natural' or a non-empty list of class ids, got {value!r}"
        )
    if min(value) < 0:
        raise ValueError(f"{attribute.name}: class ids are 0 or more, got {min(value)}")
    repeated = sorted({c for c in value if value.count(c) > 1})
    if repeated:
        raise ValueError(f"{attribute.name} names classes {repeated} more than once")
    known = type(instance).expected_classes
    if known is not None and max(value) >= known:
        raise ValueError(
            f"{attribute.name} names class {max(value)}, but {type(instance).name} has classes 0..{known - 1}"
        )


def _at_least_labels(instance: Any, attribute: attrs.Attribute, value: int | None) -> None:
    _positive(instance, attribute, value)
    if value is not None and value < instance.labels_per_class:
        raise ValueError(
            f"{attribute.name} ({value}) must be at least labels_per_class ({instance.labels_per_class}): "
            "the labeled images are part of the pool"
        )


@component
class SplitSemiDataset(Dataset):
    """Base class of class-split semi-supervised streams: tasks of ``classes_per_task`` classes each, with
    ``labels_per_class`` labeled images per class and every other training image of the task unlabeled.

    Subclasses set ``name``, the normalization constants and implement :meth:`load_data`. Labeled images
    are chosen per class by a generator seeded with the run seed, independently of the class order, so a
    class has the same labeled images in every stream of one seed.
    """

    expected_classes: ClassVar[int | None] = None
    """Number of classes of the real dataset, for early checks of ``class_order`` (None: unknown)."""
    image_mean: ClassVar[tuple[float, ...]] = (0.5,)
    """Per-channel mean of the training images in [0, 1], subtracted by the transforms."""
    image_std: ClassVar[tuple[float, ...]] = (0.5,)
    """Per-channel standard deviation of the training images in [0, 1], divided by the transforms."""
    horizontal_flip: ClassVar[bool] = True
    """Whether the weak view flips images horizontally at random (off for digits)."""
    pad_mode: ClassVar[str] = "reflect"
    """How the random crop pads: "reflect" or "zero"."""

    scenario: str = param(
        "task-il",
        help="continual scenario: task-il or class-il (domain-il does not apply to class splits)",
        validator=_split_scenario,
    )
    classes_per_task: int = param(2, help="classes in each task", validator=_positive)
    num_tasks: int | None = param(
        None, help="number of tasks (null: as many as the classes allow)", validator=_positive
    )
    class_order: str | list[int] = param(
        "natural",
        help="'natural' (0, 1, 2, ...: the papers' split), 'random' (shuffled by the run seed) or a list of class ids",
        validator=_check_class_order,
    )
    labels_per_class: int = param(
        5, help="labeled training images per class, chosen by the run seed", validator=_positive
    )
    unlabeled_per_class: int | None = param(
        None, help="cap on the training images per class in a task's pool (null: all)", validator=_at_least_labels
    )
    test_per_class: int | None = param(None, help="cap on the test images per class (null: all)", validator=_positive)

    def load_data(self) -> RawData:
        """Read (or take from the in-memory cache) the dataset's arrays; raise SsclError if the files are not right."""
        raise NotImplementedError

    def transforms(self) -> ImageTransforms:
        """The stream's batched transforms with this dataset's normalization and flip setting."""
        return ImageTransforms(
            mean=self.image_mean, std=self.image_std, flip=self.horizontal_flip, pad_mode=self.pad_mode
        )

    def ordered_classes(self, num_classes: int, seed: int) -> list[int]:
        """The classes in stream order: all of them for "random" and "natural", else the listed ones."""
        if self.class_order == "natural":
            return list(range(num_classes))
        if self.class_order == "random":
            return torch.randperm(num_classes, generator=torch.Generator().manual_seed(seed)).tolist()
        order = list(self.class_order)
        if max(order) >= num_classes:
            raise SsclError(
                f"{type(self).name}: class_order names class {max(order)}, "
                f"but the dataset's classes are 0..{num_classes - 1}"
            )
        return order

    def task_classes(self, num_classes: int, seed: int) -> list[tuple[int, ...]]:
        """The classes of each task, in stream order, for a dataset of ``num_classes`` classes."""
        name, per_task = type(self).name, self.classes_per_task
        order = self.ordered_classes(num_classes, seed)
        listed = not isinstance(self.class_order, str)
        source = "class_order lists" if listed else "the dataset has"
        if self.num_tasks is None:
            if listed and len(order) % per_task:
                raise SsclError(
                    f"{name}: class_order lists {len(order)} classes, not a multiple of "
                    f"classes_per_task={per_task}: list whole tasks or set dataset.num_tasks"
                )
            if len(order) < per_task:
                raise SsclError(
                    f"{name}: classes_per_task={per_task} is more than the {len(order)} classes {source}: "
                    "lower dataset.classes_per_task"
                )
            if len(order) % per_task:
                tasks, rest = divmod(len(order), per_task)
                dropped = sorted(order[tasks * per_task :])
                seeded = " (with this seed's random order)" if self.class_order == "random" else ""
                raise SsclError(
                    f"{name}: classes_per_task={per_task} cuts the {len(order)} classes into {tasks} tasks and "
                    f"would leave out class{'es' if rest > 1 else ''} {', '.join(map(str, dropped))}{seeded}: "
                    f"set dataset.num_tasks={tasks} to train without {'them' if rest > 1 else 'it'}, list the "
                    "classes to train in dataset.class_order, or choose a classes_per_task that divides "
                    f"{len(order)}"
                )
        num_tasks = self.num_tasks if self.num_tasks is not None else len(order) // per_task
        needed = num_tasks * per_task
        if needed > len(order):
            raise SsclError(
                f"{name}: {num_tasks} tasks x {per_task} classes need {needed} classes, but {source} {len(order)}: "
                "lower dataset.num_tasks or dataset.classes_per_task"
            )
        if listed and needed != len(order):
            raise SsclError(
                f"{name}: class_order lists {len(order)} classes but {num_tasks} tasks x {per_task} classes "
                f"use {needed}: list exactly the classes the tasks use"
            )
        return [tuple(order[t * per_task : (t + 1) * per_task]) for t in range(num_tasks)]

    def build_stream(self, seed: int) -> TaskStream:
        """Load the data and cut it into tasks; ``seed`` fixes the random class order and the labeled images."""
        data = self.load_data()
        plan = self.task_classes(data.num_classes, seed)
        train_by_class = _indices_by_class(data.train_y, data.num_classes)
        test_by_class = _indices_by_class(data.test_y, data.num_classes)
        label_generator = torch.Generator().manual_seed(seed)
        shuffled = [idx[torch.randperm(len(idx), generator=label_generator)] for idx in train_by_class]
        tasks = []
        for task_id, classes in enumerate(plan):
            pool, labeled, test = [], [], []
            for c in classes:
                self._check_class_size(c, data, len(shuffled[c]), len(test_by_class[c]))
                pool.append(shuffled[c][: self.unlabeled_per_class])
                labeled.append(shuffled[c][: self.labels_per_class])
                test.append(test_by_class[c][: self.test_per_class])
            pool_index = torch.cat(pool).sort().values
            test_index = torch.cat(test).sort().values
            tasks.append(
                Task(
                    id=task_id,
                    classes=classes,
                    train_x=data.train_x[pool_index],
                    oracle_y=data.train_y[pool_index],
                    labeled_index=torch.searchsorted(pool_index, torch.cat(labeled).sort().values),
                    test_x=data.test_x[test_index],
                    test_y=data.test_y[test_index],
                )
            )
        used = {c for classes in plan for c in classes}
        return TaskStream(
            tasks=tasks,
            scenario=self.scenario,
            num_classes=data.num_classes,
            input_shape=tuple(data.train_x.shape[1:]),
            transforms=self.transforms(),
            class_names=data.class_names,
            left_out_classes=tuple(c for c in range(data.num_classes) if c not in used),
        )

    def _check_class_size(self, c: int, data: RawData, train_count: int, test_count: int) -> None:
        label = f"class {c} ({data.class_names[c]})"
        if train_count < self.labels_per_class:
            raise SsclError(
                f"{type(self).name}: {label} has {train_count} training images, fewer than "
                f"labels_per_class={self.labels_per_class}: lower dataset.labels_per_class"
            )
        if test_count == 0:
            raise SsclError(f"{type(self).name}: {label} has no test images: the test files are incomplete")


def _indices_by_class(labels: Tensor, num_classes: int) -> list[Tensor]:
    """Positions of each class's samples, in dataset order."""
    order = torch.argsort(labels, stable=True)
    counts = torch.bincount(labels, minlength=num_classes).tolist()
    return list(torch.split(order, counts))
