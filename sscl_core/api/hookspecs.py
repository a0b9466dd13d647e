"""Every hook of sscl: registration hooks on plugin modules, lifecycle hooks on a run's components (docs/hooks.md)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from sscl_core.api.command import Command

if TYPE_CHECKING:
    from sscl_core.api.batch import SemiBatch
    from sscl_core.api.context import RunContext
    from sscl_core.api.task import Task

PROJECT = "sscl"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

Register = Callable[[type], None]
RegisterPreset = Callable[[Path], None]
RegisterCommand = Callable[[Command], None]
ActiveLearningBuilder = Callable[[dict[str, Any], Any], Any]
"""``build(section, registry)``: the run's active-learning step for a config's ``active_learning`` section."""
RegisterActiveLearning = Callable[[ActiveLearningBuilder], None]


class RegistrationSpecs:
    """Hooks a plugin module implements to add components; ``register(cls)`` takes a component class."""

    @hookspec
    def register_datasets(self, register: Register) -> None:
        """Register dataset components (subclasses of ``sscl_core.Dataset``)."""

    @hookspec
    def register_backbones(self, register: Register) -> None:
        """Register backbone components (subclasses of ``sscl_core.Backbone``)."""

    @hookspec
    def register_methods(self, register: Register) -> None:
        """Register learning methods (subclasses of ``sscl_core.Method``)."""

    @hookspec
    def register_unlabeled_losses(self, register: Register) -> None:
        """Register unlabeled losses (subclasses of ``sscl_core.UnlabeledLoss``), composable with any method."""

    @hookspec
    def register_memory_pools(self, register: Register) -> None:
        """Register memory pools (subclasses of ``sscl_core.MemoryPool``)."""

    @hookspec
    def register_query_strategies(self, register: Register) -> None:
        """Register active-learning query strategies (subclasses of ``sscl_core.QueryStrategy``)."""

    @hookspec
    def register_active_learning(self, register: RegisterActiveLearning) -> None:
        """Register what runs a config's ``active_learning`` section: ``register(build)`` takes ``build(section,
        registry)``, which returns a lifecycle member whose ``resolved()`` is the section with its defaults."""

    @hookspec
    def register_models(self, register: Register) -> None:
        """Register model components (subclasses of ``sscl_core.Model``): the networks of problem kinds."""

    @hookspec
    def register_evaluators(self, register: Register) -> None:
        """Register evaluators (subclasses of ``sscl_core.Evaluator``): named metric matrices of problem kinds."""

    @hookspec
    def register_callbacks(self, register: Register) -> None:
        """Register callbacks (subclasses of ``sscl_core.Callback``)."""

    @hookspec
    def register_presets(self, register: RegisterPreset) -> None:
        """Register run presets: YAML config files shipped with the plugin, run by name (``sscl run NAME``);
        ``register(path)`` takes the file, whose stem is the preset's name."""

    @hookspec
    def register_commands(self, register: RegisterCommand) -> None:
        """Register subcommands of ``sscl`` beyond run, plugins, list, describe and config: ``register(command)``
        takes a :class:`sscl_core.Command`."""


class LifecycleSpecs:
    """Hooks the trainer calls on the run's components, with keyword arguments, in the order of docs/hooks.md."""

    @hookspec
    def before_run(self, ctx: RunContext) -> None:
        """Once, after the model, optimizer and stream exist and before the first task."""

    @hookspec
    def after_run(self, ctx: RunContext, metrics: dict[str, Any]) -> None:
        """Once, after the last evaluation; ``metrics`` is what goes to metrics.json."""

    @hookspec
    def before_task(self, ctx: RunContext, task: Task) -> None:
        """Before the first iteration of ``task`` (``ctx.task`` is already ``task``)."""

    @hookspec
    def after_task(self, ctx: RunContext, task: Task) -> None:
        """After the last iteration of ``task``, before its evaluation."""

    @hookspec
    def before_epoch(self, ctx: RunContext, epoch: int) -> None:
        """At the start of virtual epoch ``epoch`` (counted within the task, from 0)."""

    @hookspec
    def after_epoch(self, ctx: RunContext, epoch: int) -> None:
        """At the end of virtual epoch ``epoch``; the last epoch of a task may be shorter."""

    @hookspec
    def before_iter(self, ctx: RunContext, batch: SemiBatch) -> None:
        """Before the method's forward pass on ``batch``."""

    @hookspec
    def after_iter(self, ctx: RunContext, batch: SemiBatch, losses: dict[str, float]) -> None:
        """After the optimizer step; ``losses`` are the method's named losses as floats."""

    @hookspec
    def before_val(self, ctx: RunContext, task: Task) -> None:
        """Before evaluating every task seen so far, after training ``task``."""

    @hookspec
    def after_val(
        self, ctx: RunContext, task: Task, scores: dict[str, list[float]], accuracies: dict[str, list[float]]
    ) -> None:
        """After that evaluation; ``scores`` maps each of the evaluator's metrics ("task-il"/"class-il" for
        accuracy) to its value per seen task; ``accuracies`` is the same mapping (its name before problem kinds)."""


LIFECYCLE_HOOKS = tuple(name for name in vars(LifecycleSpecs) if not name.startswith("_"))
REGISTRATION_HOOKS = tuple(name for name in vars(RegistrationSpecs) if not name.startswith("_"))
