"""The ``csv`` callback: losses and accuracies as plain CSV files in the run directory.

Both files are in long format (one value per row), so loss names that change between tasks or methods need no
change of header:

- ``losses.csv``: ``task,iter,global_iter,lr,loss,value``, one row per named loss of every ``every``-th
  iteration of a task and of its last iteration;
- ``accuracy.csv``: ``after_task_index,protocol,task,accuracy``, one row per protocol and seen task after each
  task's evaluation.

Every index is counted from 0. Files are opened in append mode and flushed after every write; the header is
written only into an empty file. The callback's state is the size of each file at the checkpoint, and a resumed
run truncates the files back to it, so rows a stopped run wrote after its last checkpoint appear only once.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

import attrs

from sscl_core import Callback, RunContext, SsclError, Task, component, hookimpl, param
from sscl_plugin_loggers.schedule import iteration_due

LOSSES_FILE = "losses.csv"
"""The file of training losses, in the run directory."""

ACCURACY_FILE = "accuracy.csv"
"""The file of evaluation accuracies, in the run directory."""

LOSSES_HEADER = ("task", "iter", "global_iter", "lr", "loss", "value")
"""Columns of ``losses.csv``."""

ACCURACY_HEADER = ("after_task_index", "protocol", "task", "accuracy")
"""Columns of ``accuracy.csv``."""


class CsvFile:
    """One CSV file written by appending rows: header only into an empty file, flushed after every write."""

    def __init__(self, path: Path, header: Sequence[str]) -> None:
        self.path = path
        self.header = tuple(header)
        self._file: IO[str] | None = None
        self._writer: Any = None

    def write(self, rows: Iterable[Sequence[Any]]) -> None:
        """Append ``rows`` (after the header if the file is empty) and flush them to the operating system."""
        if self._file is None:
            self._file = open(self.path, "a", newline="", encoding="utf-8")
            self._writer = csv.writer(self._file)
        if os.fstat(self._file.fileno()).st_size == 0:
            self._writer.writerow(self.header)
        self._writer.writerows(rows)
        self._file.flush()

    def size(self) -> int:
        """The file's size in bytes (0 if it does not exist yet)."""
        if self._file is not None:
            self._file.flush()
        return self.path.stat().st_size if self.path.exists() else 0

    def truncate(self, size: int, owner: str) -> None:
        """Cut the file back to ``size`` bytes; refuse (naming ``owner``) a file shorter than that."""
        self.close()
        current = self.size()
        if current < size:
            raise SsclError(
                f"{owner}: {self.path} has {current} bytes, fewer than the {size} it had at the checkpoint: it was "
                "changed after the run stopped; put it back or start a new run"
            )
        if self.path.exists():
            os.truncate(self.path, size)

    def close(self) -> None:
        """Close the file if it is open (the next write opens it again)."""
        if self._file is not None:
            self._file.close()
            self._file, self._writer = None, None


@component
class CsvLogger(Callback):
    """Writes losses.csv and accuracy.csv (long format) in the run directory; resumes without duplicate rows."""

    name = "csv"
    every: int = param(
        10, help="write the losses every N iterations (and at each task's last)", validator=attrs.validators.ge(1)
    )

    def _files(self) -> dict[str, CsvFile]:
        files = getattr(self, "_open_files", None)
        if files is None:
            raise SsclError(f"callback '{self.name}' was used before its before_run hook")
        return files

    @hookimpl
    def before_run(self, ctx: RunContext) -> None:
        """Name the two files in ``ctx.run_dir`` (opened on their first write)."""
        self._open_files = {
            LOSSES_FILE: CsvFile(ctx.run_dir / LOSSES_FILE, LOSSES_HEADER),
            ACCURACY_FILE: CsvFile(ctx.run_dir / ACCURACY_FILE, ACCURACY_HEADER),
        }

    @hookimpl
    def before_task(self, ctx: RunContext) -> None:
        """At the first task, empty the files: a run started over (resumed with no checkpoint) rewrites them."""
        if ctx.task_index == 0:
            for file in self._files().values():
                file.truncate(0, f"callback '{self.name}'")

    @hookimpl
    def after_iter(self, ctx: RunContext, losses: dict[str, float]) -> None:
        """Append one row per loss on the iterations ``every`` selects."""
        if not iteration_due(ctx.task_iter, ctx.config.train.iters_per_task, self.every):
            return
        lr = ctx.optimizer.param_groups[0]["lr"] if ctx.optimizer is not None else ""
        prefix = (ctx.task_index, ctx.task_iter, ctx.global_iter, lr)
        self._files()[LOSSES_FILE].write([(*prefix, name, float(value)) for name, value in losses.items()])

    @hookimpl
    def after_val(self, ctx: RunContext, task: Task, accuracies: dict[str, list[float]]) -> None:
        """Append one row per protocol and seen task."""
        rows = [
            (ctx.task_index, protocol, j, float(accuracy))
            for protocol, per_task in accuracies.items()
            for j, accuracy in enumerate(per_task)
        ]
        self._files()[ACCURACY_FILE].write(rows)

    @hookimpl
    def after_run(self, ctx: RunContext) -> None:
        """Close both files."""
        for file in self._files().values():
            file.close()

    def state_dict(self) -> dict[str, int]:
        """The size in bytes of each file at the checkpoint."""
        return {key: file.size() for key, file in self._files().items()}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Truncate each file to its size at the checkpoint, dropping rows written after it."""
        for key, file in self._files().items():
            file.truncate(int(state[key]), f"callback '{self.name}'")
