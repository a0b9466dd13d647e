"""The disk tier of a memory pool in checkpoints: its files kept with sha256 sums, checked and put back on resume.

The contract (see docs/plugin-guide.md): a pool keeps its disk files in ``ctx.pool_dir``, never changes a
file in place (it writes a new file, or replaces one with ``os.replace``), lists the files its current state
refers to in ``disk_files()`` and declares its bound in ``max_disk_bytes()``. At each checkpoint the core
hard-links those files (copies them where links are impossible) into the checkpoint's snapshot folder and
records their sha256; a file the pool deletes or replaces later stays alive there. On resume the core checks
every sum, puts the files back into an emptied ``ctx.pool_dir`` and then calls the pool's ``load_state_dict``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sscl_core.api.errors import SsclError
from sscl_core.api.memory import MemoryPool
from sscl_core.run.checkpoint import START_OVER, file_sha256


def _pool_name(pool: MemoryPool) -> str:
    return f"memory pool '{type(pool).name}'"


def listed_files(pool: MemoryPool, pool_dir: Path) -> dict[str, Path]:
    """The pool's disk files by path relative to ``pool_dir``; a file elsewhere or missing is an error."""
    root = pool_dir.resolve()
    files = {}
    for entry in pool.disk_files():
        path = Path(entry).resolve()
        if not path.is_relative_to(root):
            raise SsclError(
                f"{_pool_name(pool)} keeps {entry} outside {pool_dir}: a pool's files belong in ctx.pool_dir"
            )
        if not path.is_file():
            raise SsclError(f"{_pool_name(pool)} lists {entry} in disk_files(), but there is no such file")
        files[path.relative_to(root).as_posix()] = path
    return files


def check_disk_bound(pool: MemoryPool, files: dict[str, Path]) -> int:
    """The bytes of the pool's disk files; an error if they exceed the pool's declared bound (or it has none)."""
    used = sum(path.stat().st_size for path in files.values())
    bound = pool.max_disk_bytes()
    if files and bound is None:
        raise SsclError(f"{_pool_name(pool)} keeps files on disk but max_disk_bytes() declares no bound")
    if bound is not None and used > bound:
        raise SsclError(f"{_pool_name(pool)} holds {used} bytes on disk, over its bound of {bound} bytes")
    return used


def link_or_copy(source: Path, target: Path) -> None:
    """Hard-link ``source`` as ``target``, or copy it where the file system has no hard links."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def snapshot_pool_files(
    pool: MemoryPool, pool_dir: Path, snapshot_dir: Path, previous: tuple[Path, dict[str, str]] | None = None
) -> dict[str, str]:
    """Keep the pool's current disk files in ``snapshot_dir``; return their sha256 by relative path.

    ``previous`` (the last snapshot's folder and sums) saves hashing a file again that is still the same file.
    """
    files = listed_files(pool, pool_dir)
    check_disk_bound(pool, files)
    if snapshot_dir.exists():
        shutil.rmtree(snapshot_dir)
    sums = {}
    for rel, source in files.items():
        target = snapshot_dir / rel
        link_or_copy(source, target)
        if previous is not None and rel in previous[1] and _same_file(previous[0] / rel, target):
            sums[rel] = previous[1][rel]
        else:
            sums[rel] = file_sha256(target)
    return sums


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def verify_pool_files(snapshot_dir: Path, sums: dict[str, str]) -> None:
    """Check every file of a pool snapshot against its sha256; a missing or changed one is one SsclError."""
    root = snapshot_dir.resolve()
    for rel, expected in sums.items():
        path = (snapshot_dir / rel).resolve()
        if not path.is_relative_to(root):
            raise SsclError(f"checkpoint lists a memory-pool file outside {snapshot_dir}: {rel!r}; {START_OVER}")
        if not path.is_file():
            raise SsclError(f"memory-pool file {snapshot_dir / rel} of the checkpoint is missing: {START_OVER}")
        if file_sha256(path) != expected:
            raise SsclError(
                f"memory-pool file {snapshot_dir / rel} does not match its sha256 in the checkpoint (changed after "
                f"it was written): {START_OVER}"
            )


def restore_pool_files(snapshot_dir: Path, sums: dict[str, str], pool_dir: Path) -> None:
    """Empty ``pool_dir`` and put the snapshot's files back into it."""
    clear_pool_dir(pool_dir)
    for rel in sums:
        link_or_copy(snapshot_dir / rel, pool_dir / rel)


def clear_pool_dir(pool_dir: Path) -> None:
    """Remove the pool's disk tier folder and everything in it."""
    shutil.rmtree(pool_dir, ignore_errors=True)
