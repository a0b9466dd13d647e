"""The run directory: resolved config, metrics and events of one run, written so a kill never leaves half a file."""

import contextlib
import json
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import yaml

from sscl_core.api.errors import SsclError

CONFIG_FILE = "config.yaml"
"""The resolved config of the run."""
METRICS_FILE = "metrics.json"
"""Accuracy matrices, summary metrics, timing and memory, rewritten after every task."""
EVENTS_FILE = "events.jsonl"
"""The run's event log, appended to (also by a resumed run)."""
TEMP_SUFFIX = ".tmp"
"""Suffix of the temporary files of atomic writes; a leftover one is from a killed write and can go."""


def create_run_dir(output_dir: str, run_name: str) -> Path:
    """A new, empty run directory ``output_dir/run_name`` (suffixed ``-2``, ``-3``... if taken)."""
    root = Path(output_dir)
    path, n = root / run_name, 1
    try:
        root.mkdir(parents=True, exist_ok=True)
        while True:
            try:
                path.mkdir()
                return path
            except FileExistsError:
                n += 1
                path = root / f"{run_name}-{n}"
    except OSError as error:
        raise SsclError(
            f"cannot create the run directory {path}: {error.strerror or error}; set output_dir to a writable folder"
        ) from None


def default_run_name(dataset: str, method: str, seed: int) -> str:
    """``YYYYmmdd-HHMMSS-<dataset>-<method>-s<seed>``."""
    safe_method = method.replace("+", "_")
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{dataset}-{safe_method}-s{seed}"


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (new and renamed files) to disk, where the platform allows it."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[IO[bytes]]:
    """A binary file that replaces ``path`` only once fully written and fsynced (a temporary file renamed over it,
    removed if writing fails): readers see the old file or the new one, never a mix."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}{TEMP_SUFFIX}")
    try:
        with tmp.open("wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_file`)."""
    with atomic_file(path) as f:
        f.write(text.encode("utf-8"))


def remove_temp_files(folder: Path) -> None:
    """Delete temporary files left in ``folder`` by atomic writes that a kill interrupted."""
    for leftover in folder.glob(f"*{TEMP_SUFFIX}"):
        leftover.unlink(missing_ok=True)


def write_config(run_dir: Path, config: dict[str, Any], left_out_classes: Sequence[int] = ()) -> None:
    """Write the resolved config as config.yaml, headed by a comment naming the classes the stream left out."""
    header = f"# classes left out of the stream: {list(left_out_classes)}\n" if left_out_classes else ""
    write_atomic(run_dir / CONFIG_FILE, header + yaml.safe_dump(config, sort_keys=False))


def write_metrics(run_dir: Path, metrics: dict[str, Any]) -> None:
    """Write metrics.json."""
    write_atomic(run_dir / METRICS_FILE, json.dumps(metrics, indent=1))


def read_metrics(run_dir: Path) -> dict[str, Any]:
    """Read a run directory's metrics.json."""
    return json.loads((Path(run_dir) / METRICS_FILE).read_text(encoding="utf-8"))
