"""CIFAR-10/100 from pickle batches the tests write, and the restricted unpickler against tampered files."""

from __future__ import annotations

import os
import pickle

import numpy
import pytest
import torch

from sscl_plugin_datasets.cifar import Cifar10, Cifar100
from sscl_plugin_datasets.cifar_writer import write_cifar10
from sscl_plugin_datasets.errors import FileFormatError
from sscl_plugin_datasets.safe_pickle import load_restricted


def test_cifar10_stream(cifar10_root, formats):
    python2_batch = (cifar10_root / "cifar-10-batches-py" / "data_batch_1").read_bytes()
    assert b"cnumpy.core.multiarray\n_reconstruct\n" in python2_batch and b"U\x04data" in python2_batch
    stream = Cifar10(root=str(cifar10_root), class_order=[3, 5, 0, 1]).build_stream(0)
    assert [task.classes for task in stream] == [(3, 5), (0, 1)]
    assert stream.input_shape == (3, 32, 32) and stream.num_classes == 10 and stream.class_names[3] == "cat"
    for task in stream:
        assert len(task) == 2 * formats.cifar10_train_per_class and len(task.test_y) == 2 * formats.cifar_test_per_class
        assert (task.train_x[:, 0, 0, 0].long() == task.oracle_y).all(), "row layout: red plane first"
        assert (task.train_x[:, 1, 0, 0] == 100).all() and (task.train_x[:, 2, 0, 0] == 200).all()
        assert (task.test_x[:, 0, 0, 0].long() == task.test_y).all()
        assert torch.bincount(task.labeled_y)[list(task.classes)].tolist() == [5, 5]


def test_root_may_be_the_batches_folder_itself(cifar10_root):
    data = Cifar10(root=str(cifar10_root / "cifar-10-batches-py")).load_data()
    assert data.train_x.shape == (100, 3, 32, 32) and data.test_x.shape == (30, 3, 32, 32)


def test_cifar100_uses_fine_labels(cifar100_root, formats):
    stream = Cifar100(root=str(cifar100_root), classes_per_task=5, labels_per_class=2).build_stream(1)
    assert len(stream) == 20 and stream.num_classes == 100 and stream.class_names[7] == "fine7"
    classes = sorted(c for task in stream for c in task.classes)
    assert classes == list(range(100))
    task = stream[0]
    assert len(task) == 5 * formats.cifar100_train_per_class and len(task.labeled_index) == 10
    assert (task.train_x[:, 0, 0, 0].long() == task.oracle_y).all()


def test_str_keys_and_default_protocol_are_read(cifar10_root, formats):
    folder = cifar10_root / "cifar-10-batches-py"
    labels = list(range(10)) * 2
    formats.dump(folder / "data_batch_2", {"labels": labels, "data": formats.cifar_rows(labels, 7)})
    assert len(Cifar10(root=str(cifar10_root)).load_data().train_y) == 100


class RunsACommand:
    """A pickle payload that would run a shell command when unpickled."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_a_tampered_batch_is_refused_without_running_code(cifar10_root, tmp_path, formats, protocol, one_line_error):
    marker = tmp_path / "pwned"
    batch = cifar10_root / "cifar-10-batches-py" / "data_batch_3"
    formats.dump(batch, {b"labels": [0], b"data": RunsACommand(f"touch {marker}")}, protocol=protocol)
    one_line_error(Cifar10(root=str(cifar10_root)), str(batch), "refused to load", "system")
    assert not marker.exists()


@pytest.mark.parametrize(
    "payload",
    [
        b"cbuiltins\neval\n(S'1+1'\ntR.",
        b"cnumpy\nload\n(S'x'\ntR.",
        b"c_codecs\nencode\n(X\x03\x00\x00\x00abcX\x06\x00\x00\x00base64tR.",
        b"cnumpy.core.multiarray\n_reconstruct\n(cos\nsystem\n(K\x00tS'b'\ntR.",
    ],
)
def test_restricted_unpickler_refuses_other_globals(tmp_path, payload):
    path = tmp_path / "evil"
    path.write_bytes(payload)
    with pytest.raises(FileFormatError, match="refused"):
        load_restricted(path)


def test_truncated_batch_is_refused(cifar10_root, one_line_error):
    batch = cifar10_root / "cifar-10-batches-py" / "test_batch"
    batch.write_bytes(batch.read_bytes()[:1000])
    one_line_error(Cifar10(root=str(cifar10_root)), str(batch), "not a valid pickle")


def test_wrong_row_size_is_refused(cifar10_root, formats, one_line_error):
    batch = cifar10_root / "cifar-10-batches-py" / "data_batch_1"
    formats.dump(batch, {b"labels": [0, 1], b"data": numpy.zeros((2, 100), dtype=numpy.uint8)}, protocol=2)
    one_line_error(Cifar10(root=str(cifar10_root)), str(batch), "expected uint8 rows of 3072 values")


def test_missing_entry_and_bad_labels_are_refused(cifar10_root, formats, one_line_error):
    batch = cifar10_root / "cifar-10-batches-py" / "data_batch_4"
    formats.dump(batch, {b"data": formats.cifar_rows([0], 1)}, protocol=2)
    one_line_error(Cifar10(root=str(cifar10_root)), str(batch), "has no 'labels' entry")
    formats.dump(batch, {b"labels": [10], b"data": formats.cifar_rows([0], 1)}, protocol=2)
    one_line_error(Cifar10(root=str(cifar10_root)), str(batch), "labels must lie in 0..9")


def test_missing_batch_and_missing_folder_are_named(cifar10_root, tmp_path, one_line_error):
    (cifar10_root / "cifar-10-batches-py" / "data_batch_5").unlink()
    one_line_error(Cifar10(root=str(cifar10_root)), "data_batch_5", "missing", "cifar-10-python.tar.gz")
    one_line_error(Cifar100(root=str(tmp_path)), str(tmp_path / "cifar-100-python"), "cifar-100-python.tar.gz")
    one_line_error(Cifar10(), "dataset.root", "not set")


def test_written_cifar10_folder_reads_back(tmp_path):
    generator = torch.Generator().manual_seed(0)
    train_x = torch.randint(0, 256, (23, 3, 32, 32), dtype=torch.uint8, generator=generator)
    train_y = torch.arange(23) % 10
    test_x = torch.randint(0, 256, (10, 3, 32, 32), dtype=torch.uint8, generator=generator)
    names = tuple(f"name{i}" for i in range(10))
    root = write_cifar10(tmp_path, train_x, train_y, test_x, torch.arange(10), class_names=names)
    data = Cifar10(root=str(root)).load_data()
    assert torch.equal(data.train_x, train_x) and torch.equal(data.train_y, train_y)
    assert torch.equal(data.test_x, test_x) and data.test_y.tolist() == list(range(10))
    assert data.class_names == names
    with pytest.raises(ValueError, match="uint8 images"):
        write_cifar10(tmp_path, train_x.float(), train_y, test_x, torch.arange(10))
