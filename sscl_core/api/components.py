"""Components: classes whose fields are their hyperparameters, in any class style (see the plugin guide)."""

import dataclasses
import difflib
import inspect
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

import attrs

from sscl_core.api.errors import SsclError

T = TypeVar("T")


def component(cls: type[T]) -> type[T]:
    """Make ``cls`` a component: a keyword-only attrs class that may keep extra state on ``self``."""
    return attrs.define(cls, slots=False, kw_only=True, eq=False)


def param(default: Any = attrs.NOTHING, *, help: str = "", validator: Any = None) -> Any:
    """Declare a hyperparameter field with its default (mutable ones copied per instance), validator and help."""
    if isinstance(default, (list, dict, set)):
        value = default
        return attrs.field(factory=lambda: type(value)(value), validator=validator, metadata={"help": help})
    return attrs.field(default=default, validator=validator, metadata={"help": help})


def close_match(word: str, options: typing.Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest option to ``word``, or an empty string."""
    found = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.6)
    return f"; did you mean '{found[0]}'?" if found else ""


SCALARS: dict[Any, tuple[str, Callable[[Any], bool]]] = {
    type(None): ("null", lambda v: v is None),
    bool: ("true or false", lambda v: isinstance(v, bool)),
    int: ("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    float: ("a number", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)),
    str: ("a string", lambda v: isinstance(v, str)),
}
"""The scalar types of hyperparameters: how errors name each, and which values it accepts."""


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin in (list, tuple):
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        return f"a list, each {_type_name(args[0])}" if args else "a list"
    return SCALARS[tp][0] if tp in SCALARS else getattr(tp, "__name__", str(tp))


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
    elif tp in SCALARS:
        if SCALARS[tp][1](value):
            return float(value) if tp is float else value
    elif isinstance(tp, type) and attrs.has(tp):
        if isinstance(value, tp):
            return value
        if isinstance(value, dict):
            return build(tp, value, where)
    elif isinstance(tp, type) and isinstance(value, tp):
        return value
    raise SsclError(f"{where}: expected {_type_name(tp)}, got {value!r}")


@attrs.frozen
class Hyperparameter:
    """One hyperparameter of a component class, whatever style the class is written in."""

    name: str
    type: Any
    default: Any
    """The default value (a fresh one for factories), or ``attrs.NOTHING`` when the field is required."""
    help: str = ""
    base_field: attrs.Attribute | None = None
    """The attrs field of a base class that the class's ``__init__`` does not take (set by :func:`build`)."""


def _default_of(default: Any, factory: Any = None) -> Any:
    if isinstance(default, attrs.Factory):
        return default.factory()
    if factory not in (None, dataclasses.MISSING):
        return factory()
    return attrs.NOTHING if default in (attrs.NOTHING, dataclasses.MISSING, inspect.Parameter.empty) else default


def _init_owner(cls: type) -> type:
    """The class of ``cls``'s MRO whose ``__init__`` builds its instances."""
    return next((k for k in cls.__mro__ if "__init__" in k.__dict__), object)


def _hints(obj: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(obj)
    except Exception:  # an annotation that does not resolve: its field takes any value
        return {}


def _own_fields(owner: type) -> list[Hyperparameter]:
    if "__attrs_attrs__" in owner.__dict__:
        attrs.resolve_types(owner)
        return [
            Hyperparameter(f.name, f.type, _default_of(f.default), f.metadata.get("help", ""))
            for f in attrs.fields(owner)
            if f.init
        ]
    if "__dataclass_fields__" in owner.__dict__:
        hints = _hints(owner)
        return [
            Hyperparameter(
                f.name, hints.get(f.name, Any), _default_of(f.default, f.default_factory), f.metadata.get("help", "")
            )
            for f in dataclasses.fields(owner)
            if f.init
        ]
    if owner is object:
        return []
    hints = _hints(owner.__init__)
    rows = []
    for p in list(inspect.signature(owner.__init__).parameters.values())[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        rows.append(Hyperparameter(p.name, hints.get(p.name, Any), _default_of(p.default)))
    return rows


def hyperparameter_fields(cls: type) -> dict[str, Hyperparameter]:
    """The hyperparameters of component class ``cls`` by name: those its ``__init__`` takes, then the attrs
    fields of its base classes that it does not take."""
    fields = {f.name: f for f in _own_fields(_init_owner(cls))}
    for base in cls.__mro__[1:]:
        if "__attrs_attrs__" not in base.__dict__:
            continue
        attrs.resolve_types(base)
        for f in attrs.fields(base):
            if f.init and f.name not in fields:
                fields[f.name] = Hyperparameter(f.name, f.type, _default_of(f.default), f.metadata.get("help", ""), f)
    return fields


def build(cls: type[T], values: dict[str, Any], where: str) -> T:
    """Construct the component (or config section) class ``cls`` from a plain mapping, checking every key and value
    (``where`` names the section in errors); base attrs fields its ``__init__`` does not take are set first."""
    if not isinstance(values, dict):
        raise SsclError(f"{where}: expected a mapping of settings, got {values!r}")
    fields = hyperparameter_fields(cls)
    kwargs = {}
    for key, value in values.items():
        if key not in fields:
            allowed = ", ".join(fields) or "none"
            raise SsclError(f"{where}: unknown setting '{key}' (allowed: {allowed}){close_match(str(key), fields)}")
        kwargs[key] = coerce(value, fields[key].type, f"{where}.{key}")
    base_fields = [f for f in fields.values() if f.base_field is not None]
    try:
        if not base_fields:
            return cls(**kwargs)
        instance = cls.__new__(cls)
        for f in base_fields:
            value = kwargs.pop(f.name) if f.name in kwargs else f.default
            if value is attrs.NOTHING:
                raise ValueError(f"{f.name} is required")
            if f.base_field.validator is not None:
                f.base_field.validator(instance, f.base_field, value)
            object.__setattr__(instance, f.name, value)
        instance.__init__(**kwargs)
        return instance
    except (ValueError, TypeError) as error:
        detail = error.args[0] if error.args else str(error)
        raise SsclError(f"{where}: {detail}") from None


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if attrs.has(type(value)):
        return hyperparameters(value)
    return value


def hyperparameters(instance: Any) -> dict[str, Any]:
    """The instance's hyperparameter values as plain data (lists for tuples), ready for YAML."""
    values = {}
    for name in hyperparameter_fields(type(instance)):
        if not hasattr(instance, name):
            raise SsclError(
                f"{type(instance).__name__} takes '{name}' in __init__ but keeps no attribute of that name: "
                f"store each hyperparameter as self.{name}"
            )
        values[name] = _plain(getattr(instance, name))
    return values


def describe_fields(cls: type) -> list[dict[str, Any]]:
    """One entry per hyperparameter of ``cls``: name, type, default and help text."""
    return [
        {
            "name": f.name,
            "type": _type_name(f.type),
            "default": "(required)" if f.default is attrs.NOTHING else f.default,
            "help": f.help,
        }
        for f in hyperparameter_fields(cls).values()
    ]


def one_of(*allowed: str) -> Callable[[Any, Any, Any], None]:
    """An attrs validator that accepts only the given strings and suggests a close match otherwise."""

    def check(_instance: Any, attribute: Any, value: Any) -> None:
        if value not in allowed:
            raise ValueError(
                f"{attribute.name} must be one of {', '.join(allowed)}, got {value!r}{close_match(str(value), allowed)}"
            )

    return check
