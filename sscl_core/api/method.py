"""The learning-method interface."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from torch import Tensor

from sscl_core.api.components import component
from sscl_core.api.task import SCENARIOS

if TYPE_CHECKING:
    from sscl_core.api.batch import SemiBatch
    from sscl_core.api.context import RunContext

UNLABELED_VIEWS = ("weak", "strong")


@component
class Method:
    """Base class of learning methods: the losses of :meth:`forward_train` and lifecycle hooks are all a method
    changes; class attributes say its ``compatibility`` (scenarios), ``problems`` (``"*"``: any kind whose model has a
    ``loss``), ``uses_unlabeled`` and ``uses_memory_pool`` (then built from the config or ``default_memory_pool``)."""

    name: ClassVar[str]
    compatibility: ClassVar[tuple[str, ...]] = SCENARIOS
    problems: ClassVar[tuple[str, ...]] = ("classification",)
    uses_unlabeled: ClassVar[bool] = False
    uses_memory_pool: ClassVar[bool] = False
    default_memory_pool: ClassVar[dict[str, Any]] = {"name": "reservoir", "size": 200}

    def unlabeled_views(self, ctx: RunContext) -> tuple[str, ...]:
        """Which unlabeled views ("weak", "strong") the next batch needs; none are loaded otherwise."""
        return UNLABELED_VIEWS if self.uses_unlabeled else ()

    def forward_train(self, batch: SemiBatch, ctx: RunContext) -> dict[str, Tensor]:
        """The named, already weighted losses of one iteration; the trainer backpropagates their sum."""
        raise NotImplementedError

    def eval_logits(self, x: Tensor, task_id: int | None, ctx: RunContext) -> Tensor:
        """The outputs the evaluator scores (logits, for classification); ``task_id`` is given for task-IL and
        ``None`` for class-IL."""
        return ctx.model(x)

    def state_dict(self) -> dict[str, Any]:
        """State beyond the hyperparameters that a checkpoint must keep (tensors and plain data)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
