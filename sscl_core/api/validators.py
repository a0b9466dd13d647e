"""attrs validators that components and config sections share: each raises ValueError naming the field."""

import math
from typing import Any


def positive(_instance: Any, attribute: Any, value: Any) -> None:
    """A finite number > 0."""
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{attribute.name} must be > 0, got {value!r}")


def non_negative(_instance: Any, attribute: Any, value: Any) -> None:
    """A finite number >= 0."""
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"{attribute.name} must be a finite number >= 0, got {value!r}")


def at_least_one(_instance: Any, attribute: Any, value: Any) -> None:
    """A count of at least 1, or ``None`` (unset)."""
    if value is not None and value < 1:
        raise ValueError(f"{attribute.name} must be at least 1, got {value!r}")


def fraction(_instance: Any, attribute: Any, value: float) -> None:
    """A fraction of a task, in [0, 1]."""
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be a fraction of a task between 0 and 1, got {value!r}")


def probability(_instance: Any, attribute: Any, value: float) -> None:
    """A probability threshold in (0, 1]."""
    if not 0.0 < value <= 1.0:
        raise ValueError(f"{attribute.name} must be a probability in (0, 1], got {value!r}")
