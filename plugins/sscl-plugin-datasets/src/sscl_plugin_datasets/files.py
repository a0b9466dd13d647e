"""Locating a dataset's files under the user's ``root``, with one clear error when something is missing."""

from __future__ import annotations

from pathlib import Path

from sscl_plugin_datasets.errors import data_error


def dataset_root(dataset: str, root: str | None, how_to_get: str) -> Path:
    """``root`` as an existing folder (``~`` expanded); an unset or missing root is an SsclError."""
    if root is None or not str(root).strip():
        raise data_error(dataset, "dataset.root", f"not set ({dataset} has no default location)", how_to_get)
    try:
        path = Path(root).expanduser()
    except RuntimeError as error:
        raise data_error(dataset, root, f"cannot expand '~' ({error})", how_to_get) from None
    if not path.is_dir():
        problem = "is a file, not a folder" if path.exists() else "no such folder"
        raise data_error(dataset, path, problem, how_to_get)
    return path


def data_folder(dataset: str, root: Path, folder_name: str, how_to_get: str) -> Path:
    """The dataset's own folder: ``root/folder_name``, or ``root`` itself when it is named ``folder_name``."""
    if root.name == folder_name:
        return root
    folder = root / folder_name
    if not folder.is_dir():
        raise data_error(dataset, folder, f"no such folder (dataset.root must hold {folder_name} or be it)", how_to_get)
    return folder


def required_file(dataset: str, folder: Path, names: tuple[str, ...], how_to_get: str) -> Path:
    """The first of ``names`` that exists as a file in ``folder``; none of them is an SsclError."""
    for name in names:
        path = folder / name
        if path.is_file():
            return path
    others = f" (nor {', '.join(names[1:])})" if len(names) > 1 else ""
    raise data_error(dataset, folder / names[0], f"missing{others}", how_to_get)
