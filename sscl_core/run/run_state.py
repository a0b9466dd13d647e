"""What a checkpoint holds of a run (model, optimizer, every lifecycle member's ``state_dict()``, labeled indices,
RNG states, counters, results) and the order in which :func:`restore_state` puts it back after ``before_run``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs
import torch

from sscl_core.api.context import RunContext
from sscl_core.api.errors import SsclError
from sscl_core.api.evaluator import Matrix
from sscl_core.plugins.errors import PluginError
from sscl_core.run.checkpoint import START_OVER, check_plain

STATE_KEYS = ("config", "model", "optimizer", "components", "files", "labeled_index", "rng", "global_iter", "progress")
"""What every checkpoint holds besides its format marks (``files``: see :mod:`sscl_core.run.component_files`)."""

Members = Sequence[tuple[str, Any]]
"""The run's lifecycle members with their registration names (``method:er``, ``memory_pool:reservoir``...)."""


@attrs.define
class Progress:
    """The results of the finished tasks: the evaluator's metric matrices and timing, one entry per task."""

    matrices: dict[str, Matrix] = attrs.field(factory=dict)
    iter_seconds: list[list[float]] = attrs.field(factory=list)
    data_seconds: list[list[float]] = attrs.field(factory=list)
    task_seconds: list[float] = attrs.field(factory=list)
    eval_seconds: list[float] = attrs.field(factory=list)

    @property
    def tasks_done(self) -> int:
        """Number of finished tasks."""
        return len(self.task_seconds)

    def to_state(self) -> dict[str, Any]:
        """Plain data for the checkpoint."""
        return attrs.asdict(self)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Progress:
        """Rebuild what :meth:`to_state` returned."""
        return cls(**{f.name: state[f.name] for f in attrs.fields(cls)})


def member_label(name: str) -> str:
    """A registration name as users read it: ``memory_pool:hml`` -> ``memory pool 'hml'``, ``callback0:x`` ->
    ``callback 'x'``."""
    role, _, component = name.partition(":")
    return f"{role.rstrip('0123456789').replace('_', ' ')} '{component}'"


def stateful_members(members: Members) -> list[tuple[str, Any]]:
    """The members that have state to keep (a ``state_dict`` method)."""
    return [(name, obj) for name, obj in members if callable(getattr(obj, "state_dict", None))]


def capture_state(ctx: RunContext, members: Members, progress: Progress, config: dict[str, Any]) -> dict[str, Any]:
    """Everything a checkpoint holds after ``progress.tasks_done`` tasks; refuses state that is not plain data."""
    components = {}
    for name, obj in stateful_members(members):
        state = obj.state_dict()
        check_plain(state, f"{member_label(name)} state_dict()")
        components[name] = state
    return {
        "config": config,
        "model": ctx.model.state_dict(),
        "optimizer": ctx.optimizer.state_dict(),
        "components": components,
        "labeled_index": [task.labeled_index.clone() for task in ctx.stream.tasks],
        "rng": {
            "torch": torch.get_rng_state(),
            "generator": ctx.generator.get_state(),
            "cuda": torch.cuda.get_rng_state_all() if ctx.device.type == "cuda" else [],
        },
        "global_iter": ctx.global_iter,
        "progress": progress.to_state(),
    }


def restore_state(
    ctx: RunContext, members: Members, state: dict[str, Any], before_load: Callable[[str], None] = lambda name: None
) -> Progress:
    """Put a checkpoint back into a freshly built run (after ``before_run``), in this order: labeled indices, each
    member's state (right after ``before_load(name)``), the model, a rebuilt optimizer, counters, RNG states."""
    missing = [key for key in STATE_KEYS if key not in state]
    if missing:
        raise SsclError(f"the checkpoint lacks {', '.join(missing)}: {START_OVER}")
    labeled = state["labeled_index"]
    if len(labeled) != len(ctx.stream.tasks):
        raise SsclError(f"the checkpoint has {len(labeled)} tasks, the stream {len(ctx.stream.tasks)}: {START_OVER}")
    for task, index in zip(ctx.stream.tasks, labeled, strict=True):
        task.labeled_index = index.clone()
    components = state["components"]
    for name, obj in stateful_members(members):
        if name not in components:
            raise SsclError(f"the checkpoint has no state for {name}: {START_OVER}")
        before_load(name)
        try:
            obj.load_state_dict(components[name])
        except SsclError:
            raise
        except Exception as error:
            raise PluginError(
                f"{member_label(name)} cannot load its state from the checkpoint: {type(error).__name__}: {error}"
            ) from error
    try:
        ctx.model.load_state_dict(state["model"], strict=True)
        ctx.rebuild_optimizer()
        ctx.optimizer.load_state_dict(state["optimizer"])
    except (RuntimeError, ValueError, KeyError) as error:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise SsclError(f"the checkpoint's model or optimizer does not fit this run ({detail}): {START_OVER}") from None
    ctx.global_iter = int(state["global_iter"])
    rng = state["rng"]
    torch.set_rng_state(rng["torch"])
    ctx.generator.set_state(rng["generator"])
    if ctx.device.type == "cuda" and rng["cuda"]:
        torch.cuda.set_rng_state_all(rng["cuda"])
    return Progress.from_state(state["progress"])
