"""The PluginManager of one run's lifecycle hooks, holding only the selected components, each through a
:class:`Member` that pluggy hashes and compares by identity (components may have value equality and no hash)."""

from collections.abc import Sequence
from typing import Any

import pluggy

from sscl_core.api import hookspecs
from sscl_core.api.errors import SsclError


class Member:
    """One component as the lifecycle manager holds it: its hook implementations, compared by identity."""

    def __init__(self, component: Any, hooks: dict[str, Any]) -> None:
        self.component = component
        for name, implementation in hooks.items():
            setattr(self, name, implementation)


def component_of(plugin: Any) -> Any:
    """The component a registered lifecycle plugin stands for."""
    return plugin.component if isinstance(plugin, Member) else plugin


def lifecycle_manager(roles: Sequence[tuple[str, Any]]) -> pluggy.PluginManager:
    """A PluginManager for one run's lifecycle hooks holding the ``(role, component)`` pairs, in order; a role
    whose component is ``None`` is left out."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs.LifecycleSpecs)
    for role, obj in roles:
        if obj is None:
            continue
        try:
            hooks = {name: getattr(obj, name) for name in dir(obj) if pm.parse_hookimpl_opts(obj, name) is not None}
            pm.register(Member(obj, hooks), name=f"{role}:{type(obj).name}")
            pm.check_pending()
        except pluggy.PluginValidationError as error:
            raise SsclError(f"{role} '{type(obj).name}': {error}") from None
    return pm


def members(pm: pluggy.PluginManager) -> list[tuple[str, Any]]:
    """The components registered in ``pm`` with their registration names, in registration order."""
    return [(name, component_of(plugin)) for name, plugin in pm.list_name_plugin() if plugin is not None]


def unregister_all(pm: pluggy.PluginManager) -> None:
    """Remove every component from ``pm`` (by name: nothing about the components themselves is asked)."""
    for name, _plugin in pm.list_name_plugin():
        pm.unregister(name=name)
