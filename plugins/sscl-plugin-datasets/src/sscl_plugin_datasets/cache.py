"""A small in-memory cache of decoded datasets, keyed by the files they were read from.

Decoding CIFAR or TinyImageNet takes seconds; a process that builds several streams (benchmarks, tests)
decodes each dataset once. Nothing is written to disk. A key includes each file's size and modification
time, so a changed file is read again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

MAX_ENTRIES = 2
"""Decoded datasets kept at once (the least recently used one is dropped first)."""

_entries: OrderedDict[Hashable, object] = OrderedDict()


def file_signature(paths: Iterable[Path]) -> tuple[tuple[str, int, int], ...]:
    """``(resolved path, size, mtime_ns)`` of each file, for use in a cache key."""
    signature = []
    for path in paths:
        stat = path.stat()
        signature.append((str(path.resolve()), stat.st_size, stat.st_mtime_ns))
    return tuple(signature)


def cached(key: Hashable, load: Callable[[], T]) -> T:
    """The value stored under ``key``, or ``load()`` stored under it."""
    if key in _entries:
        _entries.move_to_end(key)
        return _entries[key]  # type: ignore[return-value]
    value = load()
    _entries[key] = value
    while len(_entries) > MAX_ENTRIES:
        _entries.popitem(last=False)
    return value


def clear() -> None:
    """Drop every cached dataset."""
    _entries.clear()
