"""TinyImageNet from a tiny tiny-imagenet-200 tree of real JPEGs written by the tests."""

from __future__ import annotations

import pytest
import torch

from sscl_plugin_datasets.tinyimagenet import TinyImageNet

pytestmark = pytest.mark.filterwarnings("ignore:The image decoding and encoding capabilities:DeprecationWarning")


def test_tiny_tree_loads_sorted_classes_with_names(tiny_root, formats):
    data = TinyImageNet(root=str(tiny_root)).load_data()
    per_class, val_per_class = formats.tiny_train_per_class, formats.tiny_val_per_class
    assert data.class_names == ("goldfish", "great white shark", "tench")
    assert data.train_x.shape == (3 * per_class, 3, 64, 64) and data.train_x.dtype == torch.uint8
    assert data.test_x.shape == (3 * val_per_class, 3, 64, 64)
    assert torch.bincount(data.train_y).tolist() == [per_class] * 3
    assert torch.bincount(data.test_y).tolist() == [val_per_class] * 3
    for images, labels in ((data.train_x, data.train_y), (data.test_x, data.test_y)):
        levels = images.float().mean(dim=(1, 2, 3))
        assert torch.allclose(levels, 40.0 * (labels + 1).float(), atol=3), "each class's JPEGs have its grey level"


def test_grey_jpeg_becomes_three_equal_channels(tiny_root):
    data = TinyImageNet(root=str(tiny_root.parent)).load_data()
    grey = data.train_x[0]
    assert grey.shape == (3, 64, 64) and torch.equal(grey[0], grey[1]) and torch.equal(grey[1], grey[2])


def test_stream_of_the_tree(tiny_root):
    stream = TinyImageNet(root=str(tiny_root), classes_per_task=1, labels_per_class=2).build_stream(0)
    assert len(stream) == 3 and stream.input_shape == (3, 64, 64)
    for task in stream:
        assert len(task.labeled_index) == 2 and set(task.test_y.tolist()) == set(task.classes)


def test_missing_annotations_are_named(tiny_root, one_line_error):
    (tiny_root / "val" / "val_annotations.txt").unlink()
    one_line_error(TinyImageNet(root=str(tiny_root)), "val_annotations.txt", "missing", "tiny-imagenet-200.zip")


def test_corrupt_jpeg_is_named(tiny_root, one_line_error):
    bad = tiny_root / "train" / "n03" / "images" / "n03_2.JPEG"
    bad.write_bytes(bad.read_bytes()[:40])
    one_line_error(TinyImageNet(root=str(tiny_root)), str(bad), "not a readable image")


def test_wrong_image_size_is_named(tiny_root, formats, one_line_error):
    small = tiny_root / "val" / "images" / "val_n01_0.JPEG"
    formats.jpeg(small, 10, size=32)
    one_line_error(TinyImageNet(root=str(tiny_root)), str(small), "is 32x32 pixels, expected 64x64")


def test_unknown_class_in_annotations_is_named(tiny_root, one_line_error):
    annotations = tiny_root / "val" / "val_annotations.txt"
    annotations.write_text(annotations.read_text() + "val_n01_0.JPEG\tn77\t0\t0\t1\t1\n")
    one_line_error(TinyImageNet(root=str(tiny_root)), str(annotations), "line 7 names class n77")


def test_missing_class_folder_is_named(tiny_root, one_line_error):
    (tiny_root / "wnids.txt").write_text("n01\nn02\nn03\nn04\n")
    one_line_error(TinyImageNet(root=str(tiny_root)), str(tiny_root / "train" / "n04" / "images"), "no such folder")
