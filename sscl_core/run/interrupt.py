"""Stopping a run cleanly on SIGINT or SIGTERM: finish the iteration, keep the last checkpoint, say how to resume."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from sscl_core.run.resume import resume_command

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""The signals that ask a run to stop."""


class RunInterrupted(Exception):
    """A run stopped on a signal after its current iteration, its last checkpoint intact; ``exit_code`` is 128 + the
    signal number."""

    def __init__(self, signum: int, run_dir: Path | None = None, tasks_done: int = 0, tasks: int = 0) -> None:
        super().__init__(signum)
        self.signum = signum
        self.run_dir = run_dir
        self.tasks_done = tasks_done
        self.tasks = tasks

    @property
    def exit_code(self) -> int:
        """128 + the signal number."""
        return 128 + self.signum

    def __str__(self) -> str:
        name = signal.Signals(self.signum).name
        if self.tasks_done:
            kept = f"the checkpoint after task {self.tasks_done} of {self.tasks} is kept"
        else:
            kept = "no task had finished, so the run starts over"
        return f"stopped by {name}; {kept}: resume with '{resume_command(self.run_dir)}'"


class StopSignals:
    """While entered, SIGINT and SIGTERM only request a stop that :meth:`check` raises at a safe point; the first
    signal restores the previous handlers (a second acts at once); outside the main thread nothing changes."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                previous = signal.signal(signum, self._request_stop)
                self._previous[signum] = signal.SIG_DFL if previous is None else previous
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._restore()

    def _request_stop(self, signum: int, _frame: FrameType | None) -> None:
        self.signum = signum
        self._restore()

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def check(self) -> None:
        """Raise :class:`RunInterrupted` if a stop signal arrived."""
        if self.signum is not None:
            raise RunInterrupted(self.signum)
