"""Component registries, one per kind, filled by the plugins' registration hooks."""

import functools
import os
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import attrs
import pluggy
from packaging.utils import canonicalize_name

from sscl_core.api.backbone import Backbone
from sscl_core.api.callback import Callback
from sscl_core.api.command import Command
from sscl_core.api.components import build, close_match, hyperparameter_fields
from sscl_core.api.dataset import Dataset
from sscl_core.api.errors import SsclError
from sscl_core.api.evaluator import Evaluator
from sscl_core.api.hookspecs import ActiveLearningBuilder
from sscl_core.api.memory import MemoryPool
from sscl_core.api.method import Method
from sscl_core.api.model import Model
from sscl_core.api.query import QueryStrategy
from sscl_core.api.unlabeled import UnlabeledLoss
from sscl_core.plugins.loading import CORE_DISTRIBUTION, PluginInfo, load_plugins

KINDS: dict[str, tuple[str, type]] = {
    "dataset": ("register_datasets", Dataset),
    "backbone": ("register_backbones", Backbone),
    "method": ("register_methods", Method),
    "unlabeled_loss": ("register_unlabeled_losses", UnlabeledLoss),
    "memory_pool": ("register_memory_pools", MemoryPool),
    "query_strategy": ("register_query_strategies", QueryStrategy),
    "callback": ("register_callbacks", Callback),
    "model": ("register_models", Model),
    "evaluator": ("register_evaluators", Evaluator),
}
"""Each kind of component: its registration hook and the base class its components subclass."""


def kind_of(text: str) -> str:
    """Resolve a kind as users type it (``method``, ``methods``, ``memory-pool``...)."""
    key = text.strip().lower().replace("-", "_")
    for kind in KINDS:
        if key in (kind, kind + "s", kind + "es", kind.replace("_y", "_ie") + "s"):
            return kind
    raise SsclError(f"unknown component kind '{text}' (kinds: {', '.join(KINDS)}){close_match(key, KINDS)}")


def _registered_twice(what: str, first: str, second: str) -> SsclError:
    """The error for a name (or role) that two distributions register."""
    return SsclError(
        f"{what} is registered by both {first} and {second}: uninstall one, or load only one with SSCL_LOAD_PLUGINS"
    )


@attrs.define
class Entry:
    """A registered component class and the distribution that registered it."""

    cls: type
    distribution: str


@attrs.define
class Registry:
    """Registered components by kind and name, plus the plugins that failed to load."""

    components: dict[str, dict[str, Entry]] = attrs.field(factory=lambda: {kind: {} for kind in KINDS})
    plugins: list[PluginInfo] = attrs.field(factory=list)
    """The installed plugin distributions' entry points (the core's built-in problem kinds are not listed)."""
    presets: dict[str, tuple[Path, str]] = attrs.field(factory=dict)
    commands: dict[str, tuple[Command, str]] = attrs.field(factory=dict)
    """Subcommands the plugins registered, by name: the command and its distribution."""
    active_learning: tuple[ActiveLearningBuilder, str] | None = None
    """What runs a config's ``active_learning`` section (``register_active_learning``), and its distribution."""

    def add_active_learning(self, build: ActiveLearningBuilder, distribution: str) -> None:
        """Register what runs the ``active_learning`` section; a second distribution's is an error naming both."""
        if self.active_learning is not None and self.active_learning[0] is not build:
            raise _registered_twice("the active_learning driver", self.active_learning[1], distribution)
        self.active_learning = (build, distribution)

    def missing(self, what: str, dist: str) -> SsclError:
        """The error for using ``what`` of the distribution ``dist`` that is not loaded: why it failed to load,
        that SSCL_LOAD_PLUGINS leaves it out, or what to install."""
        where = f"{what} comes from the {dist} distribution"
        for info in self.plugins:
            if canonicalize_name(info.distribution) == dist and info.error:
                return SsclError(f"{where}, which failed to load ({info.error}): see 'sscl plugins'")
        try:
            installed = os.environ.get("SSCL_LOAD_PLUGINS") is not None and bool(version(dist))
        except PackageNotFoundError:
            installed = False
        if installed:
            return SsclError(f"{where}, which SSCL_LOAD_PLUGINS leaves out: add it there, or unset SSCL_LOAD_PLUGINS")
        return SsclError(f"{where}: pip install {dist}")

    def add_preset(self, path: Path, distribution: str) -> None:
        """Register the YAML config file ``path`` as the preset named by its stem; a name taken is an error."""
        path = Path(path)
        if path.suffix not in (".yaml", ".yml") or not path.is_file():
            raise SsclError(f"{distribution}: preset {path} is not a YAML file (.yaml) that exists")
        taken = self.presets.get(path.stem)
        if taken is not None and taken[0] != path:
            raise _registered_twice(f"preset '{path.stem}'", taken[1], distribution)
        self.presets[path.stem] = (path, distribution)

    def preset(self, name: str) -> Path:
        """The config file of preset ``name``, or one clear error with the close match."""
        if name in self.presets:
            return self.presets[name][0]
        known = sorted(self.presets)
        raise SsclError(
            f"'{name}' is neither a config file nor an installed preset (presets: {', '.join(known) or 'none'})"
            f"{close_match(name, known)}"
        )

    def add_command(self, command: Command, distribution: str) -> None:
        """Register a subcommand of ``sscl``; a name taken by another distribution is an error naming both."""
        if not isinstance(command, Command):
            raise SsclError(f"{distribution}: {command!r} is not a command (an sscl_core.command.Command)")
        taken = self.commands.get(command.name)
        if taken is not None and taken[0] != command:
            raise _registered_twice(f"command '{command.name}'", taken[1], distribution)
        self.commands[command.name] = (command, distribution)

    def drop_command(self, name: str, error: str) -> None:
        """Forget the command ``name`` and record ``error`` on the plugin that registered it (shown by
        ``sscl plugins``), e.g. when it could not add its arguments."""
        _command, distribution = self.commands.pop(name)
        for info in self.plugins:
            names = info.components.get("command", [])
            if info.distribution == distribution and name in names:
                names.remove(name)
                if not names:
                    del info.components["command"]
                info.error = error

    def add(self, kind: str, cls: type, distribution: str) -> None:
        """Register ``cls`` under its ``name``; a name taken by another distribution is an error."""
        base = KINDS[kind][1]
        name = getattr(cls, "name", None)
        if not isinstance(cls, type) or not issubclass(cls, base):
            raise SsclError(f"{distribution}: {cls!r} is not a {kind} component (a subclass of {base.__name__})")
        if not isinstance(name, str) or not name:
            raise SsclError(f"{distribution}: {kind} component {cls.__name__} has no 'name' class attribute")
        try:
            hyperparameter_fields(cls)
        except (TypeError, ValueError) as error:
            raise SsclError(f"{distribution}: {kind} '{name}' has fields sscl cannot read ({error})") from None
        taken = self.components[kind].get(name)
        if taken is not None and taken.cls is not cls:
            raise _registered_twice(f"{kind} '{name}'", taken.distribution, distribution)
        self.components[kind][name] = Entry(cls, distribution)

    def names(self, kind: str) -> list[str]:
        """Registered names of one kind, sorted."""
        return sorted(self.components[kind])

    def get(self, kind: str, name: str) -> type:
        """The component class ``name`` of ``kind``, or one clear error (with a close match and broken plugins)."""
        entry = self.components[kind].get(name)
        if entry is not None:
            return entry.cls
        known = self.names(kind)
        message = f"unknown {kind} '{name}' (installed: {', '.join(known) or 'none'}){close_match(name, known)}"
        broken = [f"{p.distribution} failed to load ({p.error})" for p in self.plugins if p.error]
        if broken:
            message += "; " + "; ".join(broken)
        raise SsclError(message)

    def distribution_of(self, kind: str, name: str) -> str:
        """The distribution that registered a component."""
        return self.components[kind][name].distribution

    def create(self, kind: str, spec: dict[str, Any]) -> Any:
        """Build a component from a config spec ``{"name": ..., **hyperparameters}``."""
        params = dict(spec)
        name = params.pop("name")
        return build(self.get(kind, name), params, f"{kind} '{name}'")


CORE_PROTOCOLS = Path(__file__).parent.parent / "protocols"
"""The benchmark protocols the core ships (docs/benchmarks.md), registered as presets of sscl-core."""


def _call_registration(
    pm: pluggy.PluginManager,
    hook_name: str,
    by_name: dict[str, PluginInfo],
    add: Callable[[Any, str], None],
    kind: str | None = None,
    fatal: bool = True,
) -> None:
    """Call every plugin's ``hook_name`` with a ``register`` passing what it registers to ``add`` (listed under
    ``kind``); an SsclError ends the loading when ``fatal``, any other exception marks the plugin broken."""
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        info = by_name[impl.plugin_name]

        def register(registered: Any, info: PluginInfo = info) -> None:
            add(registered, info.distribution)
            if kind is not None:
                info.components.setdefault(kind, []).append(registered.name)

        try:
            impl.function(register=register)
        except SsclError as error:
            if fatal:
                raise
            info.error = str(error)
        except Exception as error:  # a broken plugin must not break the others
            info.error = f"{hook_name} raised {type(error).__name__}: {error}"


def load_registry() -> Registry:
    """Load every allowed plugin and collect its components, and the presets of the core and the plugins."""
    pm, infos = load_plugins()
    registry = Registry(plugins=[p for p in infos if p.distribution != CORE_DISTRIBUTION])
    for path in sorted(CORE_PROTOCOLS.glob("*.yaml")):
        registry.add_preset(path, "sscl-core")
    by_name = {f"{p.distribution}:{p.entry_point}": p for p in infos}
    for kind, (hook_name, _base) in KINDS.items():
        _call_registration(pm, hook_name, by_name, functools.partial(registry.add, kind), kind)
    _call_registration(pm, "register_commands", by_name, registry.add_command, "command")
    _call_registration(pm, "register_active_learning", by_name, registry.add_active_learning)
    _call_registration(pm, "register_presets", by_name, registry.add_preset, fatal=False)
    return registry


def config_path(text: str, registry: Registry | None = None) -> Path:
    """A config argument as a file: an existing path, or else the file of the installed preset of that name
    (looked up in ``registry``, loaded when not given)."""
    path = Path(text)
    if path.exists() or path.suffix in (".yaml", ".yml") or len(path.parts) > 1:
        return path
    return (registry or load_registry()).preset(text)
