"""Grid axes of a bench: config keys, each with a list of values; every point of their product is one run per
method and seed.

Axes come from the protocol's bench section (``grid: {dataset.labels_per_class: [5, 25, 100]}``) and from
``--grid KEY=V1,V2,...`` on the command line (which replaces the protocol's axis of the same key). Values are
parsed like ``--set`` values (YAML scalars, ``[a, b]`` for a list). A point's run directory is named
``<label>,<key>=<value>,...-s<seed>``, so ``sscl report`` reads the axes back from the folder name.
"""

from __future__ import annotations

import difflib
import itertools
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, unquote

import attrs
import yaml

from sscl_core.api.errors import SsclError
from sscl_core.config.run_config import parse_value
from sscl_core.run.resume import flatten

KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
"""What a grid key looks like: a dotted config key (``memory_pool.size``)."""
RESERVED_KEYS = {
    "seed": "seeds are an axis already: use --seeds",
    "method": "methods are an axis already: use --methods",
    "run_name": "the bench names every run",
    "output_dir": "the bench puts every run under --out",
}
"""Keys that cannot be grid axes, and why."""
SEPARATOR = ","
"""Between the label and each ``key=value`` of a run directory's name (method labels have no comma)."""
NAME_SAFE = "+="
"""Characters a value keeps in a folder name besides letters, digits and ``_.-~`` (the rest is %-escaped)."""


@attrs.frozen
class Axis:
    """One grid axis: a dotted config key and its values, in order, without repeats."""

    key: str
    values: tuple[Any, ...]


def make_axis(key: Any, values: Any, where: str) -> Axis:
    """An axis from a key and a list of values; one clear error for a bad key or an empty or non-list value."""
    if not isinstance(key, str) or not KEY.match(key):
        raise SsclError(f"{where}: {key!r} is not a config key (dotted names, e.g. dataset.labels_per_class)")
    if key in RESERVED_KEYS or key.split(".")[0] == "bench":
        raise SsclError(f"{where}: '{key}' cannot be a grid axis: {RESERVED_KEYS.get(key, 'not a run setting')}")
    if not isinstance(values, list) or not values:
        raise SsclError(f"{where}: expected a non-empty list of values for '{key}', got {values!r}")
    unique: list[Any] = []
    for value in values:
        if value not in unique:
            unique.append(value)
    return Axis(key=key, values=tuple(unique))


def parse_grid_option(text: str) -> Axis:
    """The axis of one ``--grid KEY=V1,V2,...`` (values parsed as the ``--set`` values are)."""
    key, sep, values = text.partition("=")
    where = f"--grid {key.strip() or text!r}"
    if not sep:
        raise SsclError(f"--grid {text!r}: expected KEY=V1,V2,..., e.g. --grid dataset.labels_per_class=5,25,100")
    return make_axis(key.strip(), parse_value(f"[{values}]", where), where)


def merge_axes(protocol_axes: Iterable[Axis], option_axes: Iterable[Axis]) -> tuple[Axis, ...]:
    """The protocol's axes, each replaced by a command-line axis of the same key, then the new ones."""
    merged = {axis.key: axis for axis in protocol_axes}
    merged.update({axis.key: axis for axis in option_axes})
    return tuple(merged.values())


def grid_points(axes: tuple[Axis, ...]) -> list[dict[str, Any]]:
    """Every point of the axes' product (the last axis varies fastest); one empty point without axes."""
    keys = [axis.key for axis in axes]
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(axis.values for axis in axes))]


def value_text(value: Any) -> str:
    """A value as the YAML text that parses back to it (what ``--set KEY=...`` gets)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=2**31)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def point_overrides(point: dict[str, Any]) -> list[str]:
    """A point as ``--set`` assignments."""
    return [f"{key}={value_text(value)}" for key, value in point.items()]


def point_suffix(point: dict[str, Any]) -> str:
    """What a point adds to a run directory's name: ``,key=value`` per axis."""
    return "".join(f"{SEPARATOR}{key}={quote(value_text(value), safe=NAME_SAFE)}" for key, value in point.items())


def split_name(name: str) -> tuple[str, dict[str, Any]]:
    """A run directory's name (without its seed suffix) as its label and the grid point it names."""
    label, *parts = name.split(SEPARATOR)
    point: dict[str, Any] = {}
    for part in parts:
        key, sep, text = part.partition("=")
        if not sep or not KEY.match(key):
            return name, {}
        point[key] = parse_value(unquote(text), f"run directory {name!r}, {key}")
    return label, point


def check_axis_keys(axes: tuple[Axis, ...], resolved_configs: Iterable[dict[str, Any]]) -> None:
    """Refuse an axis whose key is a setting of none of the bench's runs, naming the closest keys."""
    known: set[str] = set()
    for resolved in resolved_configs:
        known.update(flatten(resolved))
    for axis in axes:
        if axis.key not in known:
            close = difflib.get_close_matches(axis.key, sorted(known), n=3)
            hint = f"did you mean {', '.join(close)}?" if close else "see 'sscl config PROTOCOL --method M'"
            raise SsclError(f"--grid {axis.key}: no run of this bench has that setting ({hint})")


def point_key(point: dict[str, Any]) -> str:
    """A point as hashable text (its values may be lists)."""
    return json.dumps(point, sort_keys=True, default=str)


def axis_keys(points: Iterable[dict[str, Any]]) -> list[str]:
    """The axes the points have, in first-seen order."""
    return list(dict.fromkeys(key for point in points for key in point))


def is_number(value: Any) -> bool:
    """Whether a value is an int or float (not a bool): an axis of numbers can be plotted against."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def axis_values(points: Iterable[dict[str, Any]], key: str) -> list[Any]:
    """The values of one axis among the points: ascending when all are numbers, else in first-seen order."""
    values: list[Any] = []
    for point in points:
        if key in point and point[key] not in values:
            values.append(point[key])
    return sorted(values) if all(is_number(v) for v in values) else values
