"""An image folder's files: class folders, the optional unlabeled and test folders, and the order of the images.

Training images of the classes are ordered by their path inside the class folder, then by class, so images named
by a running number keep that number's order across classes (a dataset exported with zero-padded indices keeps
its original order). Images without a class follow, by path; then the test images, ordered the same way.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import attrs
import torch

from sscl_core import SsclError
from sscl_core.api.components import close_match
from sscl_plugin_datasets.split import EVERY_TASK, NO_CLASS

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
"""File endings read as images (in any letter case); other files are ignored."""


@attrs.define(frozen=True)
class ImageEntry:
    """One image file: its path (a plain string: a folder's index is held in memory, and a Path costs several
    times more), what it is for ("train", "extra" or "test"), its class (NO_CLASS for an extra image) and, for an
    extra image, the task whose pool it joins (EVERY_TASK: all)."""

    path: str
    role: str
    label: int
    task: int = EVERY_TASK


@attrs.define(frozen=True)
class FolderLayout:
    """Every image of the folders in cache order: training images with a class, extra images, test images."""

    entries: tuple[ImageEntry, ...]
    class_names: tuple[str, ...]

    @property
    def train_entries(self) -> int:
        """Number of leading entries that are training images (with a class or extra)."""
        return sum(1 for e in self.entries if e.role != "test")

    def signature(self, settings: str) -> str:
        """A digest of ``settings`` and every file's path, role, class, size and modification time: the cache is
        valid while it is unchanged."""
        digest = hashlib.sha256(settings.encode())
        for entry in self.entries:
            stat = os.stat(entry.path)
            digest.update(f"{entry.role}\0{entry.label}\0{entry.task}\0{entry.path}\0".encode())
            digest.update(f"{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        return digest.hexdigest()


class FolderProblem(SsclError):
    """A problem with the folders themselves (missing, empty, unknown class): one line naming the path."""


def relative(path: str, folder: Path) -> str:
    """``path`` (a file under ``folder``) relative to ``folder``, with "/" between its parts."""
    return os.path.relpath(path, folder).replace(os.sep, "/")


def images_under(folder: Path, dataset: str) -> list[str]:
    """Every image file under ``folder`` (recursively, hidden files and folders skipped), sorted by relative path."""
    found = []
    try:
        for top, folders, files in os.walk(folder, onerror=_raise):
            folders[:] = [f for f in folders if not f.startswith(".")]
            found += [
                os.path.join(top, f) for f in files if not f.startswith(".") and f.lower().endswith(IMAGE_SUFFIXES)
            ]
    except OSError as error:
        raise FolderProblem(f"{dataset}: {error.filename or folder}: cannot be listed ({error.strerror})") from None
    return sorted(found, key=lambda p: relative(p, folder))


def _raise(error: OSError) -> None:
    raise error


def class_folders(root: Path, dataset: str, skip: Path | None = None) -> dict[str, Path]:
    """The subfolders of ``root`` by name (hidden ones and ``skip`` left out)."""
    try:
        folders = {p.name: p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")}
    except OSError as error:
        raise FolderProblem(f"{dataset}: {root}: cannot be listed ({error.strerror})") from None
    if skip is not None:
        folders = {name: p for name, p in folders.items() if p.resolve() != skip.resolve()}
    return dict(sorted(folders.items()))


def choose_classes(found: dict[str, Path], wanted: Sequence[str] | None, root: Path, dataset: str) -> list[str]:
    """The class names in class-id order: ``wanted`` (each must be a folder of ``root``) or every folder, sorted."""
    if wanted is None:
        if not found:
            raise FolderProblem(f"{dataset}: {root}: holds no class folders (expected root/<class>/<image files>)")
        return list(found)
    for name in wanted:
        if name not in found:
            raise FolderProblem(
                f"{dataset}: {root / name}: no such class folder (dataset.classes names it){close_match(name, found)}"
            )
    return list(wanted)


def class_images(folders: dict[str, Path], classes: list[str], dataset: str, part: str) -> list[tuple[str, int]]:
    """(path, class id) of every image of ``classes``, ordered by path inside the class folder, then by class."""
    keyed = []
    for label, name in enumerate(classes):
        if name not in folders:
            raise FolderProblem(f"{dataset}: the {part} folder has no folder for class '{name}'")
        images = images_under(folders[name], dataset)
        if not images:
            suffixes = ", ".join(IMAGE_SUFFIXES)
            raise FolderProblem(f"{dataset}: {folders[name]}: class folder holds no images ({suffixes})")
        keyed += [(relative(p, folders[name]), label, p) for p in images]
    keyed.sort(key=lambda k: (k[0], k[1]))
    return [(p, label) for _key, label, p in keyed]


def extra_images(folder: Path, dataset: str) -> list[ImageEntry]:
    """Images without a class: those directly in ``folder`` join every task, those in a subfolder named by a task
    number (0, 1, ...) join that task."""
    entries = []
    for path in images_under(folder, dataset):
        parts = relative(path, folder).split("/")
        task = EVERY_TASK
        if len(parts) > 1:
            if not parts[0].isdigit():
                raise FolderProblem(
                    f"{dataset}: {folder / parts[0]}: a subfolder of unlabeled_root must be named by a task number "
                    "(0, 1, ...); images for every task go directly into unlabeled_root"
                )
            task = int(parts[0])
        entries.append(ImageEntry(path, "extra", NO_CLASS, task))
    return entries


def held_out(images: list[tuple[str, int]], num_classes: int, share: float, seed: int, dataset: str) -> list[bool]:
    """Which images form the test split: ``round(share * n)`` of each class's ``n``, drawn with ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    is_test = [False] * len(images)
    for label in range(num_classes):
        members = [i for i, (_p, c) in enumerate(images) if c == label]
        count = round(share * len(members))
        if count == 0:
            folder = os.path.dirname(images[members[0]][0])
            raise FolderProblem(
                f"{dataset}: {folder}: class has {len(members)} images and test_share={share} holds out none of "
                "them: add images, raise dataset.test_share or give dataset.test_root"
            )
        for i in torch.randperm(len(members), generator=generator)[:count].tolist():
            is_test[members[i]] = True
    return is_test
