"""A split-semi detection stream from COCO image sets: tasks by category groups, a labeled share of each task's
images, the rest unlabeled behind the oracle, and each task's validation images.

Category ids (with gaps) become labels 1..K in task order (0 is the background). A task's training images are
those with a (non-crowd) box of its categories; its targets keep only those categories' boxes (objects of other
tasks in its images are unlabeled, the "missing annotations" of incremental detection). Its validation images
are those with a box of its categories; their targets keep every category of the stream, and COCOeval scores
only the task's. Images without any box of the stream's categories belong to no task.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import torch

from sscl_core import SsclError, Task, TaskStream
from sscl_plugin_detection.coco_reader import CocoSet
from sscl_plugin_detection.image_store import CachedImages


@attrs.define
class ImageSet:
    """Images of an instances file that one part (training or validation) uses, with their cached pixels."""

    coco: CocoSet
    pixels: CachedImages
    scales: list[tuple[float, float]]
    positions: list[int]


def category_groups(
    coco: CocoSet, tasks: int, task_categories: list[list[int]] | None, order: list[int] | None, where: str
) -> list[list[int]]:
    """The category ids of each task: ``task_categories`` as given, or ``tasks`` equal groups of ``order``
    (default: the ids in ascending order)."""
    known = sorted(coco.categories)
    if task_categories is not None:
        groups = [list(group) for group in task_categories]
    else:
        ids = list(order) if order is not None else known
        if not 1 <= tasks <= len(ids):
            raise SsclError(f"{where}: tasks={tasks} does not fit {len(ids)} categories: set 1..{len(ids)} tasks")
        groups = [ids[t * len(ids) // tasks : (t + 1) * len(ids) // tasks] for t in range(tasks)]
    flat = [c for group in groups for c in group]
    unknown = [c for c in flat if c not in coco.categories]
    if unknown:
        raise SsclError(
            f"{where}: category id {unknown[0]} is not in the instances file (its ids: "
            f"{', '.join(map(str, known[:20]))}{', ...' if len(known) > 20 else ''}): fix dataset.task_categories"
        )
    if len(set(flat)) != len(flat) or any(not group for group in groups):
        raise SsclError(f"{where}: task_categories repeat a category or leave a task empty: give each task its own ids")
    return groups


def _target(images: ImageSet, position: int, labels: dict[int, int], keep: set[int]) -> dict[str, Any]:
    image = images.coco.images[position]
    sx, sy = images.scales[position]
    rows = [b for b in images.coco.boxes[image.id] if b.category in keep]
    boxes = torch.tensor([b.box for b in rows], dtype=torch.float32).reshape(-1, 4)
    boxes *= torch.tensor([sx, sy, sx, sy])
    return {
        "boxes": boxes,
        "labels": torch.tensor([labels[b.category] for b in rows], dtype=torch.int64),
        "iscrowd": torch.tensor([b.iscrowd for b in rows], dtype=torch.bool),
        "image_id": image.id,
    }


def _with_categories(images: ImageSet, categories: set[int]) -> list[int]:
    return [
        p
        for p in images.positions
        if any(b.category in categories and not b.iscrowd for b in images.coco.boxes[images.coco.images[p].id])
    ]


def _labeled(
    train: ImageSet, positions: list[int], fraction: float, ids: set[int] | None, generator: torch.Generator
) -> torch.Tensor:
    if ids is not None:
        return torch.tensor([i for i, p in enumerate(positions) if train.coco.images[p].id in ids], dtype=torch.long)
    count = max(1, round(fraction * len(positions)))
    return torch.randperm(len(positions), generator=generator)[:count].sort().values


def build_stream(
    train: ImageSet,
    val: ImageSet,
    groups: list[list[int]],
    labeled_fraction: float,
    labeled_images: Sequence[int] | None,
    seed: int,
    scenario: str,
    transforms: Any,
    image_size: int,
    where: str,
) -> TaskStream:
    """The stream of one task per category group; ``seed`` draws the labeled images of each task."""
    labels = {c: i + 1 for i, c in enumerate(c for group in groups for c in group)}
    every = set(labels)
    generator = torch.Generator().manual_seed(seed)
    ids = set(labeled_images) if labeled_images is not None else None
    tasks = []
    for t, group in enumerate(groups):
        mine = set(group)
        positions, val_positions = _with_categories(train, mine), _with_categories(val, mine)
        if not positions or not val_positions:
            part = "training" if not positions else "validation"
            raise SsclError(f"{where}: task {t} (category ids {group}) has no {part} images: choose other categories")
        labeled = _labeled(train, positions, labeled_fraction, ids, generator)
        if len(labeled) == 0:
            raise SsclError(f"{where}: labeled_images holds none of task {t}'s images: add some of them")
        tasks.append(
            Task(
                id=t,
                classes=tuple(labels[c] for c in group),
                train_x=train.pixels.subset(positions),
                test_x=val.pixels.subset(val_positions),
                test_y=[_target(val, p, labels, every) for p in val_positions],
                oracle_y=[_target(train, p, labels, mine) for p in positions],
                labeled_index=labeled,
            )
        )
    names = [train.coco.categories[c] for c in labels]
    return TaskStream(
        tasks=tasks,
        scenario=scenario,
        num_classes=len(labels) + 1,
        input_shape=(3, image_size, image_size),
        transforms=transforms,
        class_names=("background", *names),
    )
