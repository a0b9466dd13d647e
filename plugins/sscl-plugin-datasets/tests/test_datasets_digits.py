"""The embedded digits dataset and its fixed stratified split."""

from __future__ import annotations

import torch

from sscl_plugin_datasets.digits import Digits, read_digits


def test_all_1797_images_are_8x8_grey_uint8():
    images, labels = read_digits()
    assert images.shape == (1797, 1, 8, 8) and images.dtype == torch.uint8
    assert int(images.max()) == 255 and int(images.min()) == 0
    assert torch.bincount(labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_fixed_stratified_split():
    data = Digits().load_data()
    assert len(data.train_y) + len(data.test_y) == 1797
    assert data.train_x.shape[1:] == (1, 8, 8)
    total = torch.bincount(data.train_y) + torch.bincount(data.test_y)
    assert (torch.bincount(data.test_y) - 0.2 * total).abs().max() <= 0.5

    def test_images_by_class(seed: int) -> dict[int, torch.Tensor]:
        stream = Digits().build_stream(seed)
        return {c: task.test_x[task.test_y == c] for task in stream for c in task.classes}

    assert test_images_by_class(1).keys() == test_images_by_class(2).keys() == set(range(10))
    first, second = test_images_by_class(1), test_images_by_class(2)
    assert all(torch.equal(first[c], second[c]) for c in range(10)), "the test split must not depend on the seed"


def test_default_stream_is_the_demo():
    stream = Digits().build_stream(0)
    assert len(stream) == 5 and stream.scenario == "task-il" and stream.input_shape == (1, 8, 8)
    for task in stream:
        assert len(task.classes) == 2 and len(task.labeled_index) == 10
