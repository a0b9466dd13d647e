"""Errors about dataset files: readers raise FileFormatError, loaders turn it into one SsclError line."""

from __future__ import annotations

from pathlib import Path

from sscl_core import SsclError


class FileFormatError(Exception):
    """A file's content is not what its format promises; the message says what is wrong, without the path."""


def data_error(dataset: str, path: Path | str, problem: str, how_to_get: str) -> SsclError:
    """An SsclError reading ``<dataset>: <path>: <problem>; <how_to_get>`` on a single line."""
    text = f"{dataset}: {path}: {problem}; {how_to_get}"
    return SsclError(" ".join(text.split()))
