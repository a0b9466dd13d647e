"""The split-semi stream builder, on an in-memory dataset whose images name their own index."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
import torch

from sscl_core import SsclError, component
from sscl_core.api.components import build
from sscl_plugin_datasets.split import RawData, SplitSemiDataset

CLASSES = 6
TRAIN_PER_CLASS = 20
TEST_PER_CLASS = 4


def toy_data() -> RawData:
    """Class c's training images come in order; pixel [0, 0, 0] is the image's position, [0, 0, 1] its class."""

    def images(per_class: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.arange(CLASSES).repeat(per_class)
        x = torch.zeros(len(labels), 1, 4, 4, dtype=torch.uint8)
        x[:, 0, 0, 0] = torch.arange(len(labels), dtype=torch.uint8)
        x[:, 0, 0, 1] = labels.to(torch.uint8)
        return x, labels

    train_x, train_y = images(TRAIN_PER_CLASS)
    test_x, test_y = images(TEST_PER_CLASS)
    return RawData(train_x, train_y, test_x, test_y, tuple(f"class{c}" for c in range(CLASSES)))


@component
class Toy(SplitSemiDataset):
    """Six classes of tiny images, no files."""

    name = "toy"
    expected_classes: ClassVar[int | None] = CLASSES

    def load_data(self) -> RawData:
        return toy_data()


def toy(**settings: Any) -> Toy:
    return build(Toy, settings, "dataset 'toy'")


def test_tasks_hold_their_classes_with_exact_labels_per_class():
    stream = toy(classes_per_task=2, labels_per_class=3).build_stream(0)
    assert len(stream) == CLASSES // 2 and stream.num_classes == CLASSES
    assert stream.input_shape == (1, 4, 4) and stream.class_names == tuple(f"class{c}" for c in range(CLASSES))
    seen = []
    for task in stream:
        assert len(task.classes) == 2
        seen += task.classes
        assert task.train_x.dtype == torch.uint8 and task.test_x.dtype == torch.uint8
        assert len(task) == 2 * TRAIN_PER_CLASS
        assert set(task.oracle_y.tolist()) == set(task.classes)
        assert (task.train_x[:, 0, 0, 1].long() == task.oracle_y).all()
        labeled = task.labeled_index
        assert labeled.unique().numel() == len(labeled) and 0 <= labeled.min() and labeled.max() < len(task)
        counts = torch.bincount(task.labeled_y, minlength=CLASSES)
        assert counts[list(task.classes)].tolist() == [3, 3] and counts.sum() == 6
        assert set(task.test_y.tolist()) == set(task.classes) and len(task.test_y) == 2 * TEST_PER_CLASS
        assert (task.test_x[:, 0, 0, 1].long() == task.test_y).all()
    assert sorted(seen) == list(range(CLASSES))


def test_same_seed_same_stream_other_seed_other_labels():
    first, again, other = (toy(class_order="random").build_stream(seed) for seed in (5, 5, 6))
    assert [t.classes for t in first] == [t.classes for t in again]
    for a, b in zip(first, again, strict=True):
        assert torch.equal(a.labeled_index, b.labeled_index) and torch.equal(a.train_x, b.train_x)
    natural = toy(class_order="natural")
    assert any(
        not torch.equal(a.labeled_index, b.labeled_index)
        for a, b in zip(natural.build_stream(5), natural.build_stream(6), strict=True)
    )
    assert [t.classes for t in first] != [t.classes for t in other]


def test_a_class_gets_the_same_labels_whatever_the_order():
    def labeled_positions(order: list[int]) -> dict[int, set[int]]:
        stream = toy(class_order=order).build_stream(3)
        out: dict[int, set[int]] = {}
        for task in stream:
            for image, label in zip(task.labeled_x, task.labeled_y, strict=True):
                out.setdefault(int(label), set()).add(int(image[0, 0, 0]))
        return out

    assert labeled_positions([0, 1, 2, 3, 4, 5]) == labeled_positions([5, 4, 3, 2, 1, 0])


def test_class_orders():
    assert [t.classes for t in toy(class_order="natural").build_stream(1)] == [(0, 1), (2, 3), (4, 5)]
    assert [t.classes for t in toy(class_order=[4, 0, 2, 5]).build_stream(1)] == [(4, 0), (2, 5)]
    assert [t.classes for t in toy(class_order=[3, 1, 2], classes_per_task=1, num_tasks=3).build_stream(0)] == [
        (3,),
        (1,),
        (2,),
    ]
    orders = {tuple(t.classes for t in toy(class_order="random").build_stream(seed)) for seed in range(5)}
    assert len(orders) > 1


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"class_order": [1, 1]}, "more than once"),
        ({"class_order": [0, 9]}, "names class 9"),
        ({"class_order": "shuffled"}, "class_order must be 'random', 'natural'"),
        ({"class_order": []}, "non-empty list"),
        ({"scenario": "domain-il"}, "splits by class"),
        ({"classes_per_task": 0}, "at least 1"),
        ({"labels_per_class": 4, "unlabeled_per_class": 3}, "at least labels_per_class"),
    ],
)
def test_bad_settings_are_one_line_errors(settings, message):
    with pytest.raises(SsclError, match=message) as caught:
        toy(**settings)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"num_tasks": 4}, "4 tasks x 2 classes need 8 classes, but the dataset has 6"),
        ({"classes_per_task": 7}, "classes_per_task=7 is more than the 6 classes"),
        ({"class_order": [0, 1, 2]}, "not a multiple of classes_per_task=2"),
        ({"class_order": [0, 1, 2, 3], "num_tasks": 1}, "list exactly the classes"),
        ({"labels_per_class": TRAIN_PER_CLASS + 1}, "has 20 training images, fewer than labels_per_class=21"),
    ],
)
def test_impossible_splits_are_one_line_errors(settings, message):
    with pytest.raises(SsclError, match=message) as caught:
        toy(**settings).build_stream(0)
    assert "\n" not in str(caught.value) and str(caught.value).startswith("toy: ")


def test_caps_on_pool_and_test_images():
    stream = toy(unlabeled_per_class=7, labels_per_class=2, test_per_class=1, num_tasks=2).build_stream(4)
    assert len(stream) == 2
    for task in stream:
        assert len(task) == 2 * 7 and torch.bincount(task.oracle_y)[list(task.classes)].tolist() == [7, 7]
        assert len(task.labeled_index) == 4
        assert torch.bincount(task.test_y)[list(task.classes)].tolist() == [1, 1]


def test_scenario_reaches_the_stream():
    assert toy(scenario="class-il").build_stream(0).scenario == "class-il"
    assert toy().build_stream(0).scenario == "task-il"


def test_a_split_that_would_leave_classes_out_says_which_and_how_to_keep_or_drop_them():
    with pytest.raises(SsclError) as caught:
        toy(classes_per_task=4).build_stream(0)
    assert str(caught.value) == (
        "toy: classes_per_task=4 cuts the 6 classes into 1 tasks and would leave out classes 4, 5: set "
        "dataset.num_tasks=1 to train without them, list the classes to train in dataset.class_order, or choose "
        "a classes_per_task that divides 6"
    )
    assert toy(classes_per_task=4, num_tasks=1).build_stream(0).left_out_classes == (4, 5)
    assert toy(class_order=[5, 0], classes_per_task=2).build_stream(0).left_out_classes == (1, 2, 3, 4)
    assert toy(classes_per_task=3).build_stream(0).left_out_classes == ()
