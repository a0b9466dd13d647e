"""Sample fields of any structure: a tensor with one row per sample, a list with one entry per sample (box lists,
images of different sizes), or an object that reads a batch's rows on demand (``take_rows``, e.g. images kept on
disk); these helpers index, move and measure them alike."""

from typing import Any

import torch
from torch import Tensor


def take(values: Any, index: Tensor) -> Any:
    """The samples ``index`` of a field: ``values[index]`` for a tensor, ``values.take_rows(index)`` for samples
    kept elsewhere and read on demand (e.g. images on disk), a list of the entries otherwise."""
    if torch.is_tensor(values):
        return values[index]
    if hasattr(values, "take_rows"):
        return values.take_rows(index)
    return [values[i] for i in index.tolist()]


def to_device(value: Any, device: torch.device | str) -> Any:
    """``value`` with every tensor in it (also inside lists, tuples and dicts) on ``device``."""
    if torch.is_tensor(value):
        return value.to(device)
    if isinstance(value, dict):
        return {k: to_device(v, device) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_device(v, device) for v in value)
    return value


def detached_copy(value: Any) -> Any:
    """A copy of ``value`` whose tensors are detached clones on the CPU (lists, tuples and dicts copied too)."""
    if torch.is_tensor(value):
        return value.detach().cpu().clone()
    if isinstance(value, dict):
        return {k: detached_copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(detached_copy(v) for v in value)
    return value


def nbytes(value: Any) -> int:
    """Bytes of the tensors in ``value`` (also inside lists, tuples and dicts)."""
    if torch.is_tensor(value):
        return value.numel() * value.element_size()
    if isinstance(value, dict):
        return sum(nbytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(nbytes(v) for v in value)
    return 0
