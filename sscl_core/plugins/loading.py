"""Plugin loading: every entry point of group ``sscl``, each guarded (a broken one is recorded, not fatal), into one
PluginManager; ``SSCL_LOAD_PLUGINS=a,b`` loads only those distributions (empty: none)."""

import importlib
import os
from importlib.metadata import EntryPoint, entry_points, version

import attrs
import pluggy
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from sscl_core.api import hookspecs
from sscl_core.api.errors import SsclError

ENTRY_POINT_GROUP = "sscl"
CORE_DISTRIBUTION = "sscl-core"
BUILTIN_PLUGINS = {"classification": "sscl_core.classification.plugin"}
"""Plugin modules that ship with the core and always load: the built-in problem kinds, by name."""


@attrs.define
class PluginInfo:
    """What is known about one plugin entry point: where it comes from and whether it loaded."""

    distribution: str
    version: str
    entry_point: str
    module: str
    components: dict[str, list[str]] = attrs.field(factory=dict)
    hooks: list[str] = attrs.field(factory=list)
    error: str | None = None


def core_version() -> str:
    """The installed version of sscl-core."""
    return version(CORE_DISTRIBUTION)


def selected_distributions(installed: list[str]) -> set[str] | None:
    """Distribution names allowed by ``SSCL_LOAD_PLUGINS`` (``None``: all), canonicalized; a name that is not
    among the ``installed`` plugin distributions is an error naming it and them."""
    value = os.environ.get("SSCL_LOAD_PLUGINS")
    if value is None:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    known = {canonicalize_name(n) for n in [*installed, CORE_DISTRIBUTION]}
    unknown = [n for n in names if canonicalize_name(n) not in known]
    if unknown:
        raise SsclError(
            f"SSCL_LOAD_PLUGINS names {', '.join(repr(n) for n in unknown)}, not an installed plugin distribution "
            f"(installed: {', '.join(sorted(set(installed))) or 'none'}): correct the names or unset it to load all"
        )
    return {canonicalize_name(n) for n in names}


def _core_requirement_error(ep: EntryPoint) -> str | None:
    running = core_version()
    for line in (ep.dist.requires or []) if ep.dist else []:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if canonicalize_name(req.name) == CORE_DISTRIBUTION and req.marker is None:
            if req.specifier and not req.specifier.contains(running, prereleases=True):
                return f"needs sscl-core{req.specifier} but {running} is installed: install a matching version"
    return None


def load_plugins() -> tuple[pluggy.PluginManager, list[PluginInfo]]:
    """A PluginManager with every loadable plugin module registered, and a record of every entry point."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs.RegistrationSpecs)
    found = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.dist.name if e.dist else "", e.name))
    allowed = selected_distributions([ep.dist.name for ep in found if ep.dist])
    infos = []
    for name, module in BUILTIN_PLUGINS.items():
        plugin = importlib.import_module(module)
        pm.register(plugin, name=f"{CORE_DISTRIBUTION}:{name}")
        hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])
        infos.append(PluginInfo(CORE_DISTRIBUTION, core_version(), name, module, hooks=hooks))
    for ep in found:
        dist = ep.dist.name if ep.dist else "?"
        if allowed is not None and canonicalize_name(dist) not in allowed:
            continue
        info = PluginInfo(
            distribution=dist, version=ep.dist.version if ep.dist else "?", entry_point=ep.name, module=ep.value
        )
        infos.append(info)
        info.error = _core_requirement_error(ep)
        if info.error:
            continue
        try:
            plugin = ep.load()
            pm.register(plugin, name=f"{dist}:{ep.name}")
            try:
                pm.check_pending()
            except pluggy.PluginValidationError as error:
                pm.unregister(plugin)
                info.error = (
                    f"{error}: only register_* hooks belong in a plugin module "
                    "(lifecycle hooks go on a registered Callback or Method)"
                )
                continue
            info.hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])
        except Exception as error:  # a broken plugin must not break the others
            info.error = f"{type(error).__name__}: {error}"
    return pm, infos
