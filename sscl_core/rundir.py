"""The run directory: resolved config, metrics and events of one run."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import yaml


def create_run_dir(output_dir: str, run_name: str) -> Path:
    """A new, empty run directory ``output_dir/run_name`` (suffixed ``-2``, ``-3``... if taken)."""
    root = Path(output_dir)
    root.mkdir(parents=True, exist_ok=True)
    path, n = root / run_name, 1
    while True:
        try:
            path.mkdir()
            return path
        except FileExistsError:
            n += 1
            path = root / f"{run_name}-{n}"


def default_run_name(dataset: str, method: str, seed: int) -> str:
    """``YYYYmmdd-HHMMSS-<dataset>-<method>-s<seed>``."""
    safe_method = method.replace("+", "_")
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{dataset}-{safe_method}-s{seed}"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename, so readers never see half a file."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_config(run_dir: Path, config: dict[str, Any]) -> None:
    """Write the resolved config as config.yaml."""
    write_atomic(run_dir / "config.yaml", yaml.safe_dump(config, sort_keys=False))


def write_metrics(run_dir: Path, metrics: dict[str, Any]) -> None:
    """Write metrics.json."""
    write_atomic(run_dir / "metrics.json", json.dumps(metrics, indent=1))


def read_metrics(run_dir: Path) -> dict[str, Any]:
    """Read a run directory's metrics.json."""
    return json.loads((Path(run_dir) / "metrics.json").read_text(encoding="utf-8"))
