"""Writing images as a CIFAR-10 "python version" folder, for tests and benchmarks that need real files."""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from sscl_plugin_datasets.cifar import IMAGE_BYTES, Cifar10


def _dump(path: Path, content: dict[str, object]) -> None:
    with path.open("wb") as stream:
        pickle.dump(content, stream, protocol=pickle.HIGHEST_PROTOCOL)


def write_cifar10(
    root: Path | str,
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    test_x: torch.Tensor,
    test_y: torch.Tensor,
    class_names: tuple[str, ...] = tuple(f"class{i}" for i in range(10)),
) -> Path:
    """Write uint8 images (N, 3, 32, 32) and their labels under ``root/cifar-10-batches-py``; return ``root``.

    The training images are split over the five ``data_batch_*`` files, the test images go to
    ``test_batch`` and the class names to ``batches.meta``, in the layout ``dataset.root`` of ``cifar10``
    expects (Python 3 pickles with str keys, which the loader reads like the original files).
    """
    if train_x.dtype != torch.uint8 or tuple(train_x.shape[1:]) != (3, 32, 32):
        raise ValueError(f"expected uint8 images of shape (N, 3, 32, 32), got {train_x.dtype} {tuple(train_x.shape)}")
    folder = Path(root) / Cifar10.folder_name
    folder.mkdir(parents=True, exist_ok=True)
    parts = torch.arange(len(train_x)).tensor_split(len(Cifar10.train_files))
    for name, index in zip(Cifar10.train_files, parts, strict=True):
        rows = train_x[index].reshape(-1, IMAGE_BYTES).numpy()
        _dump(folder / name, {"data": rows, "labels": train_y[index].tolist()})
    (test_file,) = Cifar10.test_files
    _dump(folder / test_file, {"data": test_x.reshape(-1, IMAGE_BYTES).numpy(), "labels": test_y.tolist()})
    _dump(folder / Cifar10.meta_file, {"label_names": list(class_names)})
    return Path(root)
