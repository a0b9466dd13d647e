"""The run's event log: one JSON object per line in events.jsonl."""

import json
import os
import time
from pathlib import Path
from typing import Any


def drop_partial_line(path: Path) -> None:
    """Cut a last line that a kill left unfinished (no newline), so appended events stay one per line."""
    if not path.exists():
        return
    with path.open("rb+") as f:
        size = f.seek(0, os.SEEK_END)
        if size == 0:
            return
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return
        f.seek(0)
        end = f.read().rfind(b"\n") + 1
        f.truncate(end)


class EventLog:
    """Appends events (with a timestamp) to a JSON-lines file, flushed after each line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        drop_partial_line(path)
        self._file = path.open("a", encoding="utf-8")

    def write(self, event: str, **fields: Any) -> None:
        """Write one event."""
        self._file.write(json.dumps({"event": event, "time": round(time.time(), 3), **fields}) + "\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        self._file.close()
