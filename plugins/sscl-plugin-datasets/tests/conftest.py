"""Small dataset files in the real on-disk formats, written by the tests themselves, and fixtures using them.

Test modules reach the writers through the ``formats`` fixture (tests are imported in importlib mode, so
they cannot import this file).
"""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path
from types import SimpleNamespace

import numpy
import pytest
import torch
from torchvision.io import write_jpeg, write_png

from sscl_core import SsclError
from sscl_plugin_datasets import cache

MNIST_TRAIN_PER_CLASS = 8
MNIST_TEST_PER_CLASS = 3
CIFAR10_TRAIN_PER_CLASS = 10
CIFAR100_TRAIN_PER_CLASS = 6
CIFAR_TEST_PER_CLASS = 3
TINY_WNIDS = ("n02", "n01", "n03")
TINY_TRAIN_PER_CLASS = 6
TINY_VAL_PER_CLASS = 2
FOLDER_CLASSES = ("ant", "bee", "cat", "dog")
FOLDER_PER_CLASS = 8


def write_idx(path: Path, array: numpy.ndarray) -> None:
    """Write a uint8 array as an IDX file (gzip-compressed when the name ends in .gz)."""
    header = bytes((0, 0, 0x08, array.ndim)) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + numpy.ascontiguousarray(array, dtype=numpy.uint8).tobytes()
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as stream:
            stream.write(payload)
    else:
        path.write_bytes(payload)


def labelled_images(labels: numpy.ndarray, shape: tuple[int, ...], seed: int) -> numpy.ndarray:
    """Random uint8 images whose first pixel is the label, so a test can check which image went where."""
    images = numpy.random.default_rng(seed).integers(0, 256, size=(len(labels), *shape), dtype=numpy.uint8)
    images.reshape(len(labels), -1)[:, 0] = labels
    return images


def cifar_rows(labels: list[int], seed: int) -> numpy.ndarray:
    """uint8 rows of 3072 values (R plane, G plane, B plane); each plane starts with label, 100, 200."""
    rows = numpy.random.default_rng(seed).integers(0, 256, size=(len(labels), 3072), dtype=numpy.uint8)
    rows[:, 0] = labels
    rows[:, 1024] = 100
    rows[:, 2048] = 200
    return rows


def dump(path: Path, content: object, protocol: int | None = None) -> None:
    """Pickle ``content`` to ``path`` the Python 3 way."""
    with path.open("wb") as stream:
        pickle.dump(content, stream, protocol=protocol)


class Python2Pickler(pickle._Pickler):
    """Writes pickles as Python 2 did for the real CIFAR files: protocol 2, str and bytes as byte strings
    (BINSTRING), numpy's array constructor under ``numpy.core.multiarray``."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_byte_string(self, obj: str | bytes) -> None:
        data = obj.encode("latin1") if isinstance(obj, str) else bytes(obj)
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[str] = save_byte_string
    dispatch[bytes] = save_byte_string

    def save_global(self, obj: object, name: str | None = None) -> None:
        module = obj.__module__.replace("numpy._core", "numpy.core")
        self.write(pickle.GLOBAL + f"{module}\n{name or obj.__qualname__}\n".encode())
        self.memoize(obj)

    dispatch[type] = save_global


def dump_python2(path: Path, content: object) -> None:
    """Pickle ``content`` to ``path`` as the original Python 2 CIFAR files are pickled."""
    with path.open("wb") as stream:
        Python2Pickler(stream, protocol=2).dump(content)


def jpeg(path: Path, value: int, channels: int = 3, size: int = 64) -> None:
    """A flat JPEG of grey level ``value``."""
    write_jpeg(torch.full((channels, size, size), value, dtype=torch.uint8), str(path), quality=95)


def folder_image(value: int, channels: int, height: int, width: int, seed: int) -> torch.Tensor:
    """A uint8 image of grey level about ``value`` with a little noise."""
    noise = torch.randint(-12, 13, (channels, height, width), generator=torch.Generator().manual_seed(seed))
    return (noise + value).clamp(0, 255).to(torch.uint8)


def write_image(path: Path, image: torch.Tensor) -> None:
    """Write ``image`` as PNG or JPEG, by the file ending."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".png":
        write_png(image, str(path))
    else:
        write_jpeg(image, str(path), quality=95)


@pytest.fixture
def image_folder(tmp_path: Path) -> SimpleNamespace:
    """A class-folder tree: ant (grey PNG), bee (RGB PNG), cat (RGB JPEG, 20x16), dog (grey JPEG), 8 images each
    named 0.png, 1.png, ...; and an unlabeled folder: 3 images for every task, 2 in subfolder 1 (task 1 only)."""
    root, unlabeled = tmp_path / "photos", tmp_path / "unlabeled"
    kinds = {"ant": (1, ".png", 12), "bee": (3, ".png", 12), "cat": (3, ".jpg", 16), "dog": (1, ".jpeg", 12)}
    for label, name in enumerate(FOLDER_CLASSES):
        channels, suffix, width = kinds[name]
        for i in range(FOLDER_PER_CLASS):
            image = folder_image(40 + 50 * label, channels, 12, width, seed=100 * label + i)
            write_image(root / name / f"{i}{suffix}", image)
    for i in range(3):
        write_image(unlabeled / f"u{i}.png", folder_image(128, 3, 12, 12, seed=900 + i))
    for i in range(2):
        write_image(unlabeled / "1" / f"only1-{i}.jpg", folder_image(60, 3, 12, 12, seed=950 + i))
    return SimpleNamespace(root=root, unlabeled=unlabeled, cache=tmp_path / "cache", classes=FOLDER_CLASSES)


@pytest.fixture(autouse=True)
def empty_cache():
    """Every test decodes its own files."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def mnist_root(tmp_path: Path) -> Path:
    """A folder with the four gzip IDX files: 10 classes, 8 train and 3 test 28x28 images per class."""
    root = tmp_path / "mnist"
    root.mkdir()
    train_y = numpy.tile(numpy.arange(10, dtype=numpy.uint8), MNIST_TRAIN_PER_CLASS)
    test_y = numpy.tile(numpy.arange(10, dtype=numpy.uint8), MNIST_TEST_PER_CLASS)
    write_idx(root / "train-images-idx3-ubyte.gz", labelled_images(train_y, (28, 28), 1))
    write_idx(root / "train-labels-idx1-ubyte.gz", train_y)
    write_idx(root / "t10k-images-idx3-ubyte.gz", labelled_images(test_y, (28, 28), 2))
    write_idx(root / "t10k-labels-idx1-ubyte.gz", test_y)
    return root


@pytest.fixture
def cifar10_root(tmp_path: Path) -> Path:
    """The parent of a cifar-10-batches-py folder: 5 batches of 2 images per class (pickled like the real
    Python 2 files), a test batch (Python 3 default protocol) and the meta (Python 3, protocol 2)."""
    folder = tmp_path / "data" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for number in range(1, 6):
        labels = list(range(10)) * 2
        batch = {
            "batch_label": f"training batch {number} of 5",
            "labels": labels,
            "data": cifar_rows(labels, number),
            "filenames": [f"img_{number}_{i}.png" for i in range(len(labels))],
        }
        dump_python2(folder / f"data_batch_{number}", batch)
    test_labels = list(range(10)) * CIFAR_TEST_PER_CLASS
    dump(
        folder / "test_batch",
        {b"batch_label": b"testing batch 1 of 1", b"labels": test_labels, b"data": cifar_rows(test_labels, 9)},
    )
    names = [
        n.encode() for n in ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
    ]
    dump(folder / "batches.meta", {b"label_names": names, b"num_cases_per_batch": 20, b"num_vis": 3072}, protocol=2)
    return tmp_path / "data"


@pytest.fixture
def cifar100_root(tmp_path: Path) -> Path:
    """A cifar-100-python folder: 6 train and 3 test images per class, fine and coarse labels, the meta."""
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    for part, per_class, seed in (("train", CIFAR100_TRAIN_PER_CLASS, 1), ("test", CIFAR_TEST_PER_CLASS, 2)):
        fine = list(range(100)) * per_class
        batch = {b"fine_labels": fine, b"coarse_labels": [f // 5 for f in fine], b"data": cifar_rows(fine, seed)}
        dump(folder / part, batch, protocol=2)
    meta = {
        b"fine_label_names": [f"fine{i}".encode() for i in range(100)],
        b"coarse_label_names": [f"coarse{i}".encode() for i in range(20)],
    }
    dump(folder / "meta", meta, protocol=2)
    return folder


@pytest.fixture
def tiny_root(tmp_path: Path) -> Path:
    """A tiny-imagenet-200 folder with 3 classes, 6 train and 2 val JPEGs each; one train JPEG is grey."""
    root = tmp_path / "tiny-imagenet-200"
    (root / "val" / "images").mkdir(parents=True)
    (root / "wnids.txt").write_text("\n".join(TINY_WNIDS) + "\n")
    (root / "words.txt").write_text(
        "n01\tgoldfish, Carassius auratus\nn02\tgreat white shark\nn03\ttench\nn99\tunused\n"
    )
    annotations = []
    for wnid in TINY_WNIDS:
        level = 40 * int(wnid[1:])
        images = root / "train" / wnid / "images"
        images.mkdir(parents=True)
        for i in range(TINY_TRAIN_PER_CLASS):
            jpeg(images / f"{wnid}_{i}.JPEG", level, channels=1 if (wnid, i) == ("n01", 0) else 3)
        for i in range(TINY_VAL_PER_CLASS):
            name = f"val_{wnid}_{i}.JPEG"
            jpeg(root / "val" / "images" / name, level)
            annotations.append(f"{name}\t{wnid}\t0\t0\t63\t63")
    (root / "val" / "val_annotations.txt").write_text("\n".join(annotations) + "\n")
    return root


@pytest.fixture
def one_line_error():
    """Assert that building a dataset's stream fails with a one-line SsclError holding each text; return it."""

    def check(dataset, *texts: str) -> str:
        with pytest.raises(SsclError) as caught:
            dataset.build_stream(0)
        message = str(caught.value)
        assert "\n" not in message
        for text in texts:
            assert text in message
        return message

    return check


@pytest.fixture
def formats() -> SimpleNamespace:
    """The file writers and the sizes of the fixture trees, for tests that write their own files."""
    return SimpleNamespace(
        write_idx=write_idx,
        labelled_images=labelled_images,
        cifar_rows=cifar_rows,
        dump=dump,
        jpeg=jpeg,
        write_image=write_image,
        folder_image=folder_image,
        folder_per_class=FOLDER_PER_CLASS,
        mnist_train_per_class=MNIST_TRAIN_PER_CLASS,
        mnist_test_per_class=MNIST_TEST_PER_CLASS,
        cifar10_train_per_class=CIFAR10_TRAIN_PER_CLASS,
        cifar100_train_per_class=CIFAR100_TRAIN_PER_CLASS,
        cifar_test_per_class=CIFAR_TEST_PER_CLASS,
        tiny_wnids=TINY_WNIDS,
        tiny_train_per_class=TINY_TRAIN_PER_CLASS,
        tiny_val_per_class=TINY_VAL_PER_CLASS,
    )
