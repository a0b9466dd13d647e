"""Loading the CIFAR pickles without letting a tampered file run code.

A pickle may name any importable callable and have it called while loading. The CIFAR batches only hold
dicts, lists, strings, bytes, ints and numpy arrays, so this unpickler resolves only the globals that numpy
arrays need and refuses every other one before anything is called.
"""

from __future__ import annotations

import functools
import importlib
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sscl_plugin_datasets.errors import FileFormatError


class ForbiddenContent(pickle.UnpicklingError):
    """The pickle asks for an object or call that the CIFAR files never contain."""


def _latin1_encode(text: Any, encoding: str = "latin1") -> bytes:
    """Protocol-2 pickles written by Python 3 store bytes as ``_codecs.encode(str, "latin1")``; only that."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise ForbiddenContent("refused a _codecs.encode call other than latin1 text to bytes")
    return text.encode("latin1")


def _numpy_attribute(modules: tuple[str, ...], name: str) -> Callable[..., Any]:
    for module in modules:
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
    raise ImportError(f"numpy has no {name} in {' or '.join(modules)}")


@functools.lru_cache(maxsize=1)
def allowed_globals() -> dict[tuple[str, str], Any]:
    """Every (module, name) a CIFAR pickle may refer to, mapped to the object it stands for."""
    multiarray = ("numpy._core.multiarray", "numpy.core.multiarray")
    numeric = ("numpy._core.numeric", "numpy.core.numeric")
    reconstruct = _numpy_attribute(multiarray, "_reconstruct")
    from_buffer = _numpy_attribute(numeric, "_frombuffer")
    import numpy

    table: dict[tuple[str, str], Any] = {("numpy", "ndarray"): numpy.ndarray, ("numpy", "dtype"): numpy.dtype}
    for module in multiarray:
        table[(module, "_reconstruct")] = reconstruct
    for module in numeric:
        table[(module, "_frombuffer")] = from_buffer
    table[("_codecs", "encode")] = _latin1_encode
    return table


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds only builtin containers, strings, bytes, numbers and numpy arrays."""

    def find_class(self, module: str, name: str) -> Any:
        """The allowed object ``module.name``; anything else raises UnpicklingError before it is imported."""
        found = allowed_globals().get((module, name))
        if found is None:
            raise ForbiddenContent(
                f"refused to load {module}.{name}: a CIFAR batch holds only arrays and containers (tampered file?)"
            )
        return found

    def persistent_load(self, pid: Any) -> Any:
        """Persistent references never occur in the CIFAR files; refuse them."""
        raise ForbiddenContent("refused a persistent reference")


def load_restricted(path: Path) -> Any:
    """Unpickle ``path`` (Python 2 strings come back as bytes, as in the CIFAR batches); a forbidden global
    or a damaged file raises FileFormatError."""
    try:
        with path.open("rb") as stream:
            return RestrictedUnpickler(stream, encoding="bytes").load()
    except OSError:
        raise
    except ForbiddenContent as error:
        raise FileFormatError(str(error)) from None
    except Exception as error:  # any other failure while parsing untrusted bytes means a damaged file
        raise FileFormatError(f"not a valid pickle ({type(error).__name__}: {error})") from None
