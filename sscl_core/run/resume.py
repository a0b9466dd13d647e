"""Resuming a run: which run directories qualify, and the check that the config is the run's own: the sha256 of
the resolved config (location keys left out), a run recorded before fields were added comparing them at defaults."""

import hashlib
import json
import shlex
from pathlib import Path
from typing import Any

from sscl_core.api.components import build
from sscl_core.api.errors import SsclError
from sscl_core.config.run_config import RunConfig, normalize
from sscl_core.plugins.registry import Registry
from sscl_core.run.resolve import resolve_components
from sscl_core.run.rundir import CONFIG_FILE

LOCATION_KEYS = ("output_dir", "run_name")
"""Config keys that name where a run directory is, not what the run does; a resume may differ in them."""

SHOWN_DIFFERENCES = 4
"""How many differing keys a refusal lists by name."""


def comparable(resolved: dict[str, Any]) -> dict[str, Any]:
    """The resolved config without :data:`LOCATION_KEYS`."""
    return {key: value for key, value in resolved.items() if key not in LOCATION_KEYS}


def config_sha256(resolved: dict[str, Any]) -> str:
    """The sha256 (hex) of a resolved config's canonical JSON, location keys left out."""
    text = json.dumps(comparable(resolved), sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings as ``{"a.b": value}``; lists and other values stay whole."""
    if not isinstance(data, dict):
        return {prefix: data}
    flat: dict[str, Any] = {}
    for key, value in data.items():
        flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def config_differences(run: dict[str, Any], given: dict[str, Any]) -> list[str]:
    """The keys in which two resolved configs differ, each as ``key (run: X, given: Y)``."""
    a, b = flatten(comparable(run)), flatten(comparable(given))
    missing = object()
    out = []
    for key in sorted(a.keys() | b.keys()):
        old, new = a.get(key, missing), b.get(key, missing)
        if old != new:
            show_old = "unset" if old is missing else repr(old)
            show_new = "unset" if new is missing else repr(new)
            out.append(f"{key} (run: {show_old}, given: {show_new})")
    return out


def _fill(record: Any, current: Any) -> Any:
    """``record`` with the mapping keys it lacks taken from ``current``, at every depth."""
    if not isinstance(record, dict) or not isinstance(current, dict):
        return record
    return {**current, **{key: _fill(value, current.get(key)) for key, value in record.items()}}


def completed_record(recorded: dict[str, Any], registry: Registry) -> dict[str, Any]:
    """A run's recorded resolved config with each key it lacks at the value this release resolves the record to (the
    record as it is when it no longer resolves)."""
    try:
        config = build(RunConfig, normalize(recorded), "config")
        current = resolve_components(config, registry).resolved_config(config)
    except SsclError:
        return recorded
    return _fill(recorded, current)


def check_same_config(run_dir: Path, run: dict[str, Any], given: dict[str, Any]) -> None:
    """Refuse, in one line naming the differing keys, a resume whose resolved config differs from the run's."""
    if config_sha256(run) == config_sha256(given):
        return
    diffs = config_differences(run, given)
    shown = ", ".join(diffs[:SHOWN_DIFFERENCES])
    more = f" and {len(diffs) - SHOWN_DIFFERENCES} more" if len(diffs) > SHOWN_DIFFERENCES else ""
    raise SsclError(
        f"--resume {run_dir}: the config differs from the run's in {shown}{more}: resume with the run's own config "
        "(no CONFIG, --set or component options), or start a new run"
    )


def resume_command(run_dir: Path) -> str:
    """The command that resumes ``run_dir``, quoted for a shell."""
    return f"sscl run --resume {shlex.quote(str(run_dir))}"


def check_run_dir(path: str | Path) -> Path:
    """The run directory to resume; refused unless it exists and holds the config.yaml of a run."""
    run_dir = Path(path)
    if "\0" in str(run_dir) or not run_dir.is_dir():
        raise SsclError(f"--resume {run_dir}: no such run directory")
    if not (run_dir / CONFIG_FILE).is_file():
        raise SsclError(f"--resume {run_dir}: not an sscl run directory (it has no {CONFIG_FILE})")
    return run_dir
