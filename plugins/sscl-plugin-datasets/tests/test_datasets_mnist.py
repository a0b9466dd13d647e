"""MNIST-format datasets from IDX files the tests write, their errors, and the real Fashion-MNIST if installed."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy
import pytest
import torch

from sscl_plugin_datasets.mnist import FashionMnist, Mnist

REAL_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


def test_mnist_stream_from_gzip_files(mnist_root, formats):
    stream = Mnist(root=str(mnist_root), labels_per_class=2).build_stream(0)
    assert len(stream) == 5 and stream.input_shape == (1, 28, 28) and stream.num_classes == 10
    assert stream.class_names == tuple("0123456789")
    for task in stream:
        assert len(task) == 2 * formats.mnist_train_per_class
        assert (task.train_x[:, 0, 0, 0].long() == task.oracle_y).all(), "image and label must stay together"
        assert (task.test_x[:, 0, 0, 0].long() == task.test_y).all()
        assert len(task.test_y) == 2 * formats.mnist_test_per_class
        assert torch.bincount(task.labeled_y)[list(task.classes)].tolist() == [2, 2]


def test_uncompressed_files_are_accepted(mnist_root):
    for path in list(mnist_root.iterdir()):
        path.with_suffix("").write_bytes(gzip.decompress(path.read_bytes()))
        path.unlink()
    data = Mnist(root=str(mnist_root)).load_data()
    assert data.train_x.shape == (80, 1, 28, 28) and data.test_x.shape == (30, 1, 28, 28)


def test_fashion_mnist_reads_any_root(mnist_root):
    stream = FashionMnist(root=str(mnist_root), class_order="natural").build_stream(0)
    assert stream.class_names[0] == "T-shirt/top" and stream[0].classes == (0, 1)


def test_mnist_without_root_says_how_to_get_it(one_line_error):
    message = one_line_error(Mnist(), "mnist: dataset.root", "not set", "set dataset.root")
    assert "t10k-images-idx3-ubyte.gz" in message


def test_missing_root_names_the_path(tmp_path, one_line_error):
    one_line_error(Mnist(root=str(tmp_path / "nowhere")), str(tmp_path / "nowhere"), "no such folder")
    one_line_error(
        FashionMnist(root=str(tmp_path / "nowhere")), str(tmp_path / "nowhere"), "apt-get install dataset-fashion-mnist"
    )


def test_missing_file_names_it(mnist_root, one_line_error):
    (mnist_root / "t10k-labels-idx1-ubyte.gz").unlink()
    one_line_error(Mnist(root=str(mnist_root)), str(mnist_root / "t10k-labels-idx1-ubyte.gz"), "missing")


def test_truncated_gzip_is_refused(mnist_root, one_line_error):
    path = mnist_root / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:500])
    one_line_error(Mnist(root=str(mnist_root)), str(path), "gzip")


def test_truncated_data_is_refused(mnist_root, one_line_error):
    path = mnist_root / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-100]))
    one_line_error(Mnist(root=str(mnist_root)), str(path), "truncated")


def test_bad_magic_is_refused(mnist_root, formats, one_line_error):
    path = mnist_root / "train-labels-idx1-ubyte.gz"
    formats.write_idx(path, numpy.zeros((80, 2), dtype=numpy.uint8))
    one_line_error(Mnist(root=str(mnist_root)), str(path), "magic number is 0x00000802, expected 0x00000801")


def test_label_count_must_match(mnist_root, formats, one_line_error):
    path = mnist_root / "t10k-labels-idx1-ubyte.gz"
    formats.write_idx(path, numpy.zeros(7, dtype=numpy.uint8))
    one_line_error(Mnist(root=str(mnist_root)), str(path), "7 labels for the 30 images")


def test_test_images_of_another_size_are_refused(mnist_root, formats, one_line_error):
    path = mnist_root / "t10k-images-idx3-ubyte.gz"
    formats.write_idx(path, numpy.zeros((30, 20, 20), dtype=numpy.uint8))
    one_line_error(Mnist(root=str(mnist_root)), str(path), "20x20 pixels", "are 28x28")


def test_root_with_unknown_user_is_one_line_error(one_line_error):
    one_line_error(Mnist(root="~no-such-user-sscl/mnist"), "~no-such-user-sscl/mnist", "cannot expand '~'")


def test_changed_files_are_read_again(mnist_root, formats):
    assert len(Mnist(root=str(mnist_root)).load_data().test_y) == 30
    labels = numpy.tile(numpy.arange(10, dtype=numpy.uint8), 2)
    formats.write_idx(mnist_root / "t10k-images-idx3-ubyte.gz", formats.labelled_images(labels, (28, 28), 5))
    formats.write_idx(mnist_root / "t10k-labels-idx1-ubyte.gz", labels)
    assert len(Mnist(root=str(mnist_root)).load_data().test_y) == 20


@pytest.mark.skipif(not REAL_FASHION_MNIST.is_dir(), reason="apt-get install dataset-fashion-mnist")
def test_real_fashion_mnist():
    data = FashionMnist().load_data()
    assert data.train_x.shape == (60000, 1, 28, 28) and data.test_x.shape == (10000, 1, 28, 28)
    assert torch.bincount(data.train_y).tolist() == [6000] * 10 and torch.bincount(data.test_y).tolist() == [1000] * 10
    unit = data.train_x.float() / 255
    assert abs(unit.mean() - FashionMnist.image_mean[0]) < 1e-3 and abs(unit.std() - FashionMnist.image_std[0]) < 1e-3
    stream = FashionMnist().build_stream(0)
    assert len(stream) == 5 and all(len(task) == 12000 and len(task.test_y) == 2000 for task in stream)
