"""Naming the plugin whose code raised during a run: which component, from which distribution, where, and what."""

import contextlib
import inspect
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pluggy

from sscl_core.api.errors import SsclError


class PluginError(SsclError):
    """A component's lifecycle hook (or ``forward_train``) raised during a run: the message names the component, its
    distribution, the hook and the error; the original exception is the ``__cause__``."""


class RunEndError(PluginError):
    """A component failed after the run's last task was trained, evaluated and checkpointed (e.g. in its
    ``after_run`` hook): metrics.json and the checkpoints are kept, and the command ends with exit code 1."""

    exit_code = 1


def _code_of(function: Callable[..., Any]) -> Any:
    function = inspect.unwrap(getattr(function, "__func__", function))
    return getattr(function, "__code__", None)


def raising_impl(error: BaseException, impls: Sequence[pluggy.HookImpl]) -> pluggy.HookImpl | None:
    """The hook implementation among ``impls`` whose frame is on the error's traceback (the outermost one)."""
    by_code = {_code_of(impl.function): impl for impl in impls}
    for frame, _line in traceback.walk_tb(error.__traceback__):
        impl = by_code.get(frame.f_code)
        if impl is not None:
            return impl
    return impls[0] if len(impls) == 1 else None


def watch_hooks(pm: pluggy.PluginManager, describe: Callable[[object], str]) -> None:
    """Turn an exception of a lifecycle hook of ``pm`` into a :class:`PluginError` naming the component
    (``describe(plugin)``); SsclErrors and non-``Exception`` ones (KeyboardInterrupt) pass unchanged."""

    def before(_hook_name: str, _impls: Sequence[pluggy.HookImpl], _kwargs: dict[str, Any]) -> None:
        return None

    def after(outcome: Any, hook_name: str, impls: Sequence[pluggy.HookImpl], _kwargs: dict[str, Any]) -> None:
        error = outcome.exception
        if error is None or isinstance(error, SsclError) or not isinstance(error, Exception):
            return
        impl = raising_impl(error, impls)
        who = describe(impl.plugin) if impl is not None else "a component"
        named = PluginError(f"{who} raised {type(error).__name__} in its {hook_name} hook: {error}")
        named.__cause__ = error
        outcome.force_exception(named)

    pm.add_hookcall_monitoring(before, after)


@contextlib.contextmanager
def blame(who: str, where: str) -> Iterator[None]:
    """Turn an exception raised inside the block into a :class:`PluginError` naming ``who`` and ``where``."""
    try:
        yield
    except SsclError:
        raise
    except Exception as error:
        raise PluginError(f"{who} raised {type(error).__name__} in {where}: {error}") from error
