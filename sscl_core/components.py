"""Components: attrs classes whose fields are their hyperparameters.

Every dataset, backbone, method, memory pool, query strategy and callback is a *component*: a class with a
``name`` class attribute, decorated with :func:`component`, whose attrs fields (declared with :func:`param`)
are its hyperparameters. Defaults, validators and help texts live on the fields; config validation,
``sscl describe`` and error messages are derived from them here.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

import attrs

from sscl_core.errors import SsclError

T = TypeVar("T")


def component(cls: type[T]) -> type[T]:
    """Make ``cls`` a component: a keyword-only attrs class that may keep extra state on ``self``."""
    return attrs.define(cls, slots=False, kw_only=True, eq=False)


def param(default: Any = attrs.NOTHING, *, help: str = "", validator: Any = None) -> Any:
    """Declare a hyperparameter field with its default, an optional attrs validator and a help text.

    Mutable defaults (lists, dicts) are copied for each instance.
    """
    if isinstance(default, (list, dict, set)):
        value = default
        return attrs.field(factory=lambda: type(value)(value), validator=validator, metadata={"help": help})
    return attrs.field(default=default, validator=validator, metadata={"help": help})


def close_match(word: str, options: typing.Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest option to ``word``, or an empty string."""
    found = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.6)
    return f"; did you mean '{found[0]}'?" if found else ""


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin in (list, tuple):
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        return f"a list, each {_type_name(args[0])}" if args else "a list"
    if tp is type(None):
        return "null"
    if tp is float:
        return "a number"
    if tp is int:
        return "an integer"
    if tp is bool:
        return "true or false"
    if tp is str:
        return "a string"
    return getattr(tp, "__name__", str(tp))


def coerce(value: Any, tp: Any, where: str) -> Any:
    """Check ``value`` against the annotation ``tp`` and convert lists and numbers; raise SsclError if it fails."""
    origin = typing.get_origin(tp)
    if tp is Any or tp is typing.Any:
        return value
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return coerce(value, arg, where)
            except SsclError:
                continue
    elif origin is typing.Literal:
        allowed = typing.get_args(tp)
        if value in allowed:
            return value
        raise SsclError(
            f"{where}: {value!r} is not allowed (allowed: {', '.join(map(str, allowed))})"
            f"{close_match(str(value), map(str, allowed))}"
        )
    elif origin in (list, tuple):
        if isinstance(value, (list, tuple)):
            args = [a for a in typing.get_args(tp) if a is not Ellipsis]
            item_type = args[0] if args else Any
            items = [coerce(v, item_type, f"{where}[{i}]") for i, v in enumerate(value)]
            return tuple(items) if origin is tuple else items
    elif origin is dict or tp is dict:
        if isinstance(value, dict):
            return value
    elif tp is type(None):
        if value is None:
            return None
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif isinstance(tp, type) and attrs.has(tp):
        if isinstance(value, tp):
            return value
        if isinstance(value, dict):
            return build(tp, value, where)
    elif isinstance(tp, type) and isinstance(value, tp):
        return value
    raise SsclError(f"{where}: expected {_type_name(tp)}, got {value!r}")


def build(cls: type[T], values: dict[str, Any], where: str) -> T:
    """Construct the attrs class ``cls`` from a plain mapping, validating every key and value.

    ``where`` names the config section in error messages (e.g. ``"method 'er'"`` or ``"train"``).
    """
    if not isinstance(values, dict):
        raise SsclError(f"{where}: expected a mapping of settings, got {values!r}")
    attrs.resolve_types(cls)
    fields = {f.name: f for f in attrs.fields(cls) if f.init}
    kwargs = {}
    for key, value in values.items():
        if key not in fields:
            allowed = ", ".join(fields) or "none"
            raise SsclError(f"{where}: unknown setting '{key}' (allowed: {allowed}){close_match(str(key), fields)}")
        kwargs[key] = coerce(value, fields[key].type, f"{where}.{key}")
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as error:
        detail = error.args[0] if error.args else str(error)
        raise SsclError(f"{where}: {detail}") from None


def hyperparameters(instance: Any) -> dict[str, Any]:
    """The instance's field values as plain data (lists for tuples), ready for YAML."""

    def plain(value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if attrs.has(type(value)):
            return hyperparameters(value)
        return value

    return {f.name: plain(getattr(instance, f.name)) for f in attrs.fields(type(instance)) if f.init}


def describe_fields(cls: type) -> list[dict[str, Any]]:
    """One entry per hyperparameter of ``cls``: name, type, default and help text."""
    attrs.resolve_types(cls)
    rows = []
    for f in attrs.fields(cls):
        if not f.init:
            continue
        if f.default is attrs.NOTHING:
            default: Any = "(required)"
        elif isinstance(f.default, attrs.Factory):
            default = f.default.factory()
        else:
            default = f.default
        rows.append(
            {"name": f.name, "type": _type_name(f.type), "default": default, "help": f.metadata.get("help", "")}
        )
    return rows


def one_of(*allowed: str) -> Callable[[Any, Any, Any], None]:
    """An attrs validator that accepts only the given strings and suggests a close match otherwise."""

    def check(_instance: Any, attribute: Any, value: Any) -> None:
        if value not in allowed:
            raise ValueError(
                f"{attribute.name} must be one of {', '.join(allowed)}, got {value!r}{close_match(str(value), allowed)}"
            )

    return check
