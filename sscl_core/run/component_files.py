"""Files a component's state refers to (the contract: the plugin guide, "Files a component's state refers to"):
hard-linked into each checkpoint with their sha256, checked and put back on resume."""

import os
import shutil
from pathlib import Path
from typing import Any

from sscl_core.api.context import FILES_DIR
from sscl_core.api.errors import SsclError
from sscl_core.run.checkpoint import START_OVER, file_sha256
from sscl_core.run.run_state import member_label

Sums = dict[str, dict[str, str]]
"""The sha256 of each member's files by their path relative to the run's files folder, by member name."""


def listed_files(name: str, member: Any, root: Path) -> dict[str, Path]:
    """The member's files by path relative to ``root``; a file elsewhere or missing is an error."""
    base = root.resolve()
    files = {}
    for entry in member.disk_files():
        path = Path(entry).resolve()
        if not path.is_relative_to(base):
            raise SsclError(
                f"{member_label(name)} keeps {entry} outside {root}: a component's files belong in ctx.files_dir(...)"
            )
        if not path.is_file():
            raise SsclError(f"{member_label(name)} lists {entry} in disk_files(), but there is no such file")
        files[path.relative_to(base).as_posix()] = path
    return files


def check_disk_bound(name: str, member: Any, files: dict[str, Path]) -> int:
    """The bytes of the member's files; an error if they exceed its declared bound (or it declares none)."""
    used = sum(path.stat().st_size for path in files.values())
    bound = member.max_disk_bytes() if callable(getattr(member, "max_disk_bytes", None)) else None
    if files and bound is None:
        raise SsclError(f"{member_label(name)} keeps files on disk but max_disk_bytes() declares no bound")
    if bound is not None and used > bound:
        raise SsclError(f"{member_label(name)} holds {used} bytes on disk, over its bound of {bound} bytes")
    return used


def link_or_copy(source: Path, target: Path) -> None:
    """Hard-link ``source`` as ``target``, or copy it where the file system has no hard links."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def snapshot_files(
    members: list[tuple[str, Any]], run_dir: Path, snapshot_dir: Path, previous: tuple[Path, Sums] | None = None
) -> Sums:
    """Keep every member's current files in ``snapshot_dir``; their sha256 by member and relative path (a file still
    the same as in ``previous``, the last snapshot, is not hashed again)."""
    root = run_dir / FILES_DIR
    if snapshot_dir.exists():
        shutil.rmtree(snapshot_dir)
    sums: Sums = {}
    owner: dict[str, str] = {}
    for name, member in members:
        if not callable(getattr(member, "disk_files", None)):
            continue
        files = listed_files(name, member, root)
        check_disk_bound(name, member, files)
        for rel, source in files.items():
            if rel in owner:
                both = f"{member_label(name)} and {member_label(owner[rel])}"
                raise SsclError(f"{both} both list {source}: keep files apart")
            owner[rel] = name
            target = snapshot_dir / rel
            link_or_copy(source, target)
            old = previous[1].get(name, {}) if previous is not None else {}
            same = previous is not None and rel in old and _same_file(previous[0] / rel, target)
            sums.setdefault(name, {})[rel] = old[rel] if same else file_sha256(target)
    return sums


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def verify_files(snapshot_dir: Path, sums: Sums) -> None:
    """Check every file of a snapshot against its sha256; a missing or changed one is one SsclError."""
    root = snapshot_dir.resolve()
    for files in sums.values():
        for rel, expected in files.items():
            path = (snapshot_dir / rel).resolve()
            if not path.is_relative_to(root):
                raise SsclError(f"checkpoint lists a component file outside {snapshot_dir}: {rel!r}; {START_OVER}")
            if not path.is_file():
                raise SsclError(f"component file {snapshot_dir / rel} of the checkpoint is missing: {START_OVER}")
            if file_sha256(path) != expected:
                raise SsclError(
                    f"component file {snapshot_dir / rel} does not match its sha256 in the checkpoint (changed "
                    f"after it was written): {START_OVER}"
                )


def restore_files(snapshot_dir: Path, files: dict[str, str], run_dir: Path) -> None:
    """Put one member's files of the snapshot back into the run's files folder."""
    for rel in files:
        link_or_copy(snapshot_dir / rel, run_dir / FILES_DIR / rel)


def clear_files(folder: Path) -> None:
    """Remove a files folder (the run's, or a snapshot) and everything in it."""
    shutil.rmtree(folder, ignore_errors=True)
