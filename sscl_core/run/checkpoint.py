"""Checkpoint files (layout and guarantees: the user guide's "Stop, crash and resume"): written to their own file
first, then named by checkpoint.json (replaced atomically), then older ones deleted, so a kill at any moment
leaves checkpoint.json naming a complete file; loaded by sha256 and ``torch.load(weights_only=True)`` only."""

import hashlib
import json
import pickle
import shutil
from pathlib import Path
from typing import Any

import attrs
import torch

from sscl_core.api.errors import SsclError
from sscl_core.run.rundir import atomic_file, remove_temp_files, write_atomic

MANIFEST_FILE = "checkpoint.json"
"""Names the latest complete checkpoint of a run directory."""
CHECKPOINT_DIR = "checkpoints"
"""Folder of the checkpoint files inside the run directory."""
FORMAT = "sscl-checkpoint"
"""Marks a checkpoint file (and its manifest) as sscl's."""
VERSION = 1
"""Version of the checkpoint format this core writes and reads."""

START_OVER = "start a new run (without --resume)"
"""What a user can do with a run whose checkpoint is unusable."""


@attrs.define
class Manifest:
    """The content of checkpoint.json: which file holds the latest checkpoint and how to verify it."""

    tasks_done: int
    file: str
    sha256: str
    config_sha256: str
    finished: bool = False

    def to_json(self) -> str:
        """The manifest as JSON text."""
        return json.dumps({"format": FORMAT, "version": VERSION, **attrs.asdict(self)}, indent=1)


def checkpoint_file(run_dir: Path, tasks_done: int) -> Path:
    """The file of the checkpoint written after ``tasks_done`` tasks."""
    return run_dir / CHECKPOINT_DIR / f"after-task-{tasks_done}.pt"


def files_snapshot_dir(run_dir: Path, tasks_done: int) -> Path:
    """The folder that keeps the components' files of the checkpoint after ``tasks_done`` tasks."""
    return run_dir / CHECKPOINT_DIR / f"after-task-{tasks_done}.files"


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


PLAIN_TYPES = (int, float, str, bool, type(None))


def check_plain(value: Any, where: str) -> None:
    """Raise SsclError unless ``value`` is tensors and plain data only (dict, list, tuple, int, float, str,
    bool, None), the things ``torch.load(weights_only=True)`` reads back. ``where`` names the value."""
    if isinstance(value, (torch.Tensor, *PLAIN_TYPES)):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, (str, int)):
                raise SsclError(f"{where} has a key of type {type(key).__name__}: a checkpoint keeps str or int keys")
            check_plain(item, f"{where}[{key!r}]")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_plain(item, f"{where}[{i}]")
        return
    raise SsclError(
        f"{where} is a {type(value).__module__}.{type(value).__qualname__}: a checkpoint keeps only tensors and "
        "plain data (dict, list, tuple, int, float, str, bool, None); convert it in state_dict()"
    )


def save_checkpoint(
    run_dir: Path, state: dict[str, Any], tasks_done: int, config_sha256: str, keep_older: bool = False
) -> Manifest:
    """Write the checkpoint after ``tasks_done`` tasks, point checkpoint.json to it, delete older ones (but their
    files, with ``keep_older``)."""
    path = checkpoint_file(run_dir, tasks_done)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "version": VERSION, "tasks_done": tasks_done, "config_sha256": config_sha256, **state}
    try:
        with atomic_file(path) as f:
            torch.save(payload, f)
        manifest = Manifest(
            tasks_done=tasks_done,
            file=path.relative_to(run_dir).as_posix(),
            sha256=file_sha256(path),
            config_sha256=config_sha256,
        )
        write_manifest(run_dir, manifest)
    except OSError as error:
        raise SsclError(f"cannot write checkpoint {path}: {error.strerror or error}; free disk space") from None
    prune_checkpoints(run_dir, manifest, keep_older)
    return manifest


def write_manifest(run_dir: Path, manifest: Manifest) -> None:
    """Replace checkpoint.json atomically."""
    write_atomic(run_dir / MANIFEST_FILE, manifest.to_json())


def prune_checkpoints(run_dir: Path, manifest: Manifest | None, keep_older: bool = False) -> None:
    """Delete every checkpoint file and files snapshot that ``manifest`` does not name, and leftover temp files;
    ``keep_older`` keeps the checkpoint files of the tasks before it (not their files snapshots)."""
    folder = run_dir / CHECKPOINT_DIR
    if not folder.is_dir():
        return
    remove_temp_files(folder)
    keep = set()
    if manifest is not None:
        keep = {
            checkpoint_file(run_dir, manifest.tasks_done).name,
            files_snapshot_dir(run_dir, manifest.tasks_done).name,
        }
        if keep_older:
            keep |= {checkpoint_file(run_dir, done).name for done in range(1, manifest.tasks_done)}
    for entry in folder.iterdir():
        if entry.name in keep:
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def read_manifest(run_dir: Path) -> Manifest | None:
    """The run directory's checkpoint.json, or None when no task has finished yet."""
    path = run_dir / MANIFEST_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("not an sscl checkpoint manifest")
        if data.get("version") != VERSION:
            raise ValueError(f"format version {data.get('version')!r}, this sscl-core reads version {VERSION}")
        fields = {f.name: data[f.name] for f in attrs.fields(Manifest)}
        types = {"tasks_done": int, "file": str, "sha256": str, "config_sha256": str, "finished": bool}
        for name, expected in types.items():
            if not isinstance(fields[name], expected) or (expected is int and isinstance(fields[name], bool)):
                raise ValueError(f"'{name}' is not {expected.__name__}")
        if fields["tasks_done"] < 1:
            raise ValueError("'tasks_done' is below 1")
        return Manifest(**fields)
    except (OSError, UnicodeDecodeError, ValueError, KeyError) as error:
        detail = f"missing key {error}" if isinstance(error, KeyError) else str(error).splitlines()[0]
        raise SsclError(f"{path} is damaged ({detail}): {START_OVER}") from None


def load_checkpoint(run_dir: Path, manifest: Manifest) -> dict[str, Any]:
    """The checkpoint that ``manifest`` names, verified by sha256 and read with ``weights_only=True``."""
    path = checkpoint_file(run_dir, manifest.tasks_done)
    if manifest.file != path.relative_to(run_dir).as_posix():
        raise SsclError(f"{run_dir / MANIFEST_FILE} names an unexpected file {manifest.file!r}: {START_OVER}")
    if not path.is_file():
        raise SsclError(f"checkpoint {path} named by {MANIFEST_FILE} is missing: {START_OVER}")
    if file_sha256(path) != manifest.sha256:
        raise SsclError(
            f"checkpoint {path} does not match its sha256 in {MANIFEST_FILE}: it was truncated or changed after it "
            f"was written; {START_OVER}"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise SsclError(
            f"checkpoint {path} holds objects other than tensors and plain data and is refused (loading it could "
            f"run code): {START_OVER}"
        ) from None
    except Exception as error:  # any failure to decode a damaged file is the file's fault
        raise SsclError(
            f"checkpoint {path} cannot be read ({type(error).__name__}): it is truncated or not an sscl checkpoint; "
            f"{START_OVER}"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT or state.get("version") != VERSION:
        raise SsclError(f"{path} is not an sscl checkpoint of format version {VERSION}: {START_OVER}")
    if state.get("tasks_done") != manifest.tasks_done or state.get("config_sha256") != manifest.config_sha256:
        raise SsclError(f"checkpoint {path} does not belong to its {MANIFEST_FILE}: {START_OVER}")
    return state
