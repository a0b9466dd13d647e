"""The split-semi stream builder: a labelled image dataset cut into tasks of a few classes, few of them labeled.

Subclasses only load their raw arrays (:meth:`SplitSemiDataset.load_data`); this module decides the class
order, which classes form each task, which training images each task holds and which of them carry labels.
Training images may also come without a class (label :data:`NO_CLASS`): they join the unlabeled pool of every
task or of one task, and no label is ever handed out for them.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import torch
from torch import Tensor

from sscl_core import Dataset, SsclError, Task, TaskStream, component, param
from sscl_core.api.components import close_match, one_of
from sscl_plugin_datasets.augment import ImageTransforms, at_least_zero, in_unit_range

CLASS_ORDERS = ("random", "natural")
"""The named class orders; ``class_order`` may also be an explicit list of class ids."""

SPLIT_SCENARIOS = ("task-il", "class-il")
"""Scenarios a stream split by class can serve (domain-il keeps the classes and changes the inputs)."""

NO_CLASS = -1
"""Label of a training image without a class (an extra unlabeled image): the oracle knows no label for it."""

EVERY_TASK = -1
"""``RawData.extra_task`` of an image without a class that joins the unlabeled pool of every task."""

WEAK_VIEWS = ("crop-flip", "none")
"""Weak augmentations: a random crop with padding and the flip (if on), or none (the normalized image)."""

PAD_MODES = ("reflect", "zero")
"""How the random crop pads: mirror the image at its borders, or fill with black."""


def flip_param(default: bool) -> Any:
    """The ``flip`` field with a dataset's own default (datasets redeclare it with this)."""
    return param(default, help="random horizontal flip in the weak and strong views")


def pad_mode_param(default: str) -> Any:
    """The ``pad_mode`` field with a dataset's own default (datasets redeclare it with this)."""
    return param(
        default,
        help="how the random crop pads: 'reflect' (mirror the border) or 'zero' (black)",
        validator=one_of(*PAD_MODES),
    )


@attrs.define(eq=False)
class RawData:
    """A dataset's decoded arrays: uint8 images (N, C, H, W), int64 labels in 0..len(class_names)-1. The images
    may also stay on disk (image-folder's :class:`~sscl_plugin_datasets.image_rows.CachedRows`), for the
    dataset's :meth:`SplitSemiDataset.take` to select from.

    Training images may have the label :data:`NO_CLASS` when ``extra_task`` (int64, one entry per training
    image) says which task's unlabeled pool each of them joins (:data:`EVERY_TASK`: all); ``extra_task`` is
    ignored for images with a class.
    """

    train_x: Tensor
    train_y: Tensor
    test_x: Tensor
    test_y: Tensor
    class_names: tuple[str, ...]
    extra_task: Tensor | None = None

    def __attrs_post_init__(self) -> None:
        if self.extra_task is not None:
            if self.extra_task.dtype != torch.int64 or self.extra_task.shape != self.train_y.shape:
                raise ValueError(f"extra_task must be int64 ({self.train_y.shape[0]},), got {self.extra_task.dtype}")
            if self.extra_task.numel() and int(self.extra_task.min()) < EVERY_TASK:
                raise ValueError(f"extra_task holds task ids or EVERY_TASK ({EVERY_TASK})")
        for images, labels, part in ((self.train_x, self.train_y, "train"), (self.test_x, self.test_y, "test")):
            if images.dtype != torch.uint8 or images.dim() != 4:
                raise ValueError(f"{part} images must be uint8 (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
            if labels.dtype != torch.int64 or labels.shape != (images.shape[0],):
                raise ValueError(
                    f"{part} labels must be int64 ({images.shape[0]},), got {labels.dtype} {tuple(labels.shape)}"
                )
            lowest = NO_CLASS if part == "train" and self.extra_task is not None else 0
            if labels.numel() and (int(labels.min()) < lowest or int(labels.max()) >= len(self.class_names)):
                extra = f" (or {NO_CLASS} for images without a class)" if lowest < 0 else ""
                raise ValueError(f"{part} labels must lie in 0..{len(self.class_names) - 1}{extra}")
        if self.train_x.shape[1:] != self.test_x.shape[1:]:
            train_shape, test_shape = tuple(self.train_x.shape[1:]), tuple(self.test_x.shape[1:])
            raise ValueError(f"train images {train_shape} and test images {test_shape} differ in shape")

    @property
    def num_classes(self) -> int:
        """Number of classes of the dataset."""
        return len(self.class_names)

    def extras_by_task(self, num_tasks: int, dataset: str) -> list[Tensor]:
        """Positions of the training images without a class that join each of ``num_tasks`` tasks' pools."""
        if self.extra_task is None:
            return [torch.zeros(0, dtype=torch.long)] * num_tasks
        extras = (self.train_y == NO_CLASS).nonzero().flatten()
        wanted = self.extra_task[extras]
        if wanted.numel() and int(wanted.max()) >= num_tasks:
            task = int(wanted.max())
            raise SsclError(
                f"{dataset}: {int((wanted == task).sum())} unlabeled images are meant for task {task}, but the "
                f"stream has {num_tasks} tasks (0..{num_tasks - 1})"
            )
        return [extras[(wanted == EVERY_TASK) | (wanted == t)] for t in range(num_tasks)]


@attrs.define(eq=False)
class SplitTask(Task):
    """A task of a split stream: its pool may also hold images without a class (oracle label
    :data:`NO_CLASS`), which are never labeled: :meth:`acquire_labels` refuses them. ``classless`` marks them
    (known from the files, not from the oracle, so asking what can be labeled reads no label)."""

    classless: Tensor | None = None

    def labelable(self) -> Tensor:
        """Every training image except those without a class."""
        return super().labelable() if self.classless is None else ~self.classless

    def acquire_labels(self, indices: Tensor) -> Tensor:
        """Labels of training images ``indices``, added to the labeled set; an image without a class is an
        SsclError and leaves the labeled set as it was (its oracle label is no class a method could learn)."""
        before = self.labeled_index
        labels = super().acquire_labels(indices)
        classless = (labels == NO_CLASS).nonzero().flatten()
        if classless.numel():
            self.labeled_index = before
            first = int(torch.as_tensor(indices, dtype=torch.long).flatten()[classless[0]])
            raise SsclError(
                f"task {self.id}: training image {first} is one of the dataset's unlabeled images without a class, "
                f"so no label can be acquired for it ({classless.numel()} of the {labels.numel()} requested images "
                "are)"
            )
        return labels


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
    weak_view: str = param(
        "crop-flip",
        help="weak augmentation: 'crop-flip' (random crop with crop_padding, then the flip if on) or 'none' (the "
        "normalized image as it is; the strong view then skips the crop and flip too)",
        validator=one_of(*WEAK_VIEWS),
    )
    crop_padding: int | None = param(
        None,
        help="random crop padding in pixels (null: about a side / 8: 4 px at 32, 1 px at 8)",
        validator=at_least_zero,
    )
    flip: bool = flip_param(True)
    pad_mode: str = pad_mode_param("reflect")
    strong_ops: int = param(
        2, help="RandAugment-style operations the strong view draws per image", validator=at_least_zero
    )
    strong_magnitude: float = param(
        1.0,
        help="share of each operation's range the strong view draws from, around its neutral value (1: rotate up "
        "to 30 degrees, shear up to 0.3, translate up to 30%, brightness/contrast/sharpness 0.1..1.9, ...)",
        validator=in_unit_range,
    )
    cutout: float = param(
        0.5,
        help="side of the strong view's Cutout square, as a share of the image side (0: no Cutout)",
        validator=in_unit_range,
    )

    def load_data(self) -> RawData:
        """Read (or take from the in-memory cache) the dataset's arrays; raise SsclError if the files are not right."""
        raise NotImplementedError

    def normalization(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Per-channel mean and standard deviation (of intensities in [0, 1]) the transforms normalize with;
        called after :meth:`load_data`."""
        return self.image_mean, self.image_std

    def transforms(self) -> ImageTransforms:
        """The stream's batched transforms: this dataset's normalization and its augmentation fields."""
        mean, std = self.normalization()
        return ImageTransforms(
            mean=mean,
            std=std,
            flip=self.flip,
            pad_mode=self.pad_mode,
            crop=self.weak_view != "none",
            padding=self.crop_padding,
            ops_per_image=self.strong_ops,
            magnitude=self.strong_magnitude,
            cutout_fraction=self.cutout,
        )

    def take(self, part: str, images: Tensor, index: Tensor) -> Tensor:
        """The images at the sorted positions ``index`` of ``images`` (``part`` "train" or "test" of
        :meth:`load_data`'s arrays) as one uint8 tensor; a dataset whose arrays stay on disk overrides this."""
        return images[index]

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
        self._check_padding(tuple(data.train_x.shape[2:]))
        extras = data.extras_by_task(len(plan), type(self).name)
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
            pool_index = torch.cat([*pool, extras[task_id]]).sort().values
            test_index = torch.cat(test).sort().values
            tasks.append(
                SplitTask(
                    id=task_id,
                    classes=classes,
                    train_x=self.take("train", data.train_x, pool_index),
                    oracle_y=data.train_y[pool_index],
                    labeled_index=torch.searchsorted(pool_index, torch.cat(labeled).sort().values),
                    test_x=self.take("test", data.test_x, test_index),
                    test_y=data.test_y[test_index],
                    classless=(data.train_y[pool_index] == NO_CLASS) if extras[task_id].numel() else None,
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

    def _check_padding(self, side: tuple[int, int]) -> None:
        if self.crop_padding is not None and self.weak_view != "none" and self.crop_padding >= min(side):
            raise SsclError(
                f"{type(self).name}: crop_padding={self.crop_padding} must be smaller than the images' side "
                f"({min(side)} px)"
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
    """Positions of each class's samples, in dataset order (samples without a class are in none)."""
    order = torch.argsort(labels, stable=True)
    has_class = labels >= 0
    counts = torch.bincount(labels[has_class], minlength=num_classes).tolist()
    return list(torch.split(order[len(labels) - int(has_class.sum()) :], counts))
