"""The unlabeled-loss interface: a semi-supervised loss added to any method's losses by configuration (``unlabeled``,
or ``--method der+fixmatch``), weighted by a schedule that restarts with every task (see the plugin guide)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
from torch import Tensor

from sscl_core.api.components import component, one_of, param
from sscl_core.api.validators import fraction

if TYPE_CHECKING:
    from sscl_core.api.batch import SemiBatch
    from sscl_core.api.context import RunContext

RAMP_SHAPES = ("linear", "cosine", "sigmoid")
"""How the weight rises from 0 to 1 over the ramp."""


def ramp_factor(shape: str, progress: float) -> float:
    """The ramp at ``progress`` (0 at its start, 1 at its end; clipped): ``linear`` p, ``cosine`` 0.5 - 0.5 cos(pi p),
    ``sigmoid`` exp(-5 (1 - p)^2) (the ramp of temporal ensembling and Mean Teacher)."""
    p = min(max(progress, 0.0), 1.0)
    if shape == "linear":
        return p
    if shape == "cosine":
        return 0.5 - 0.5 * math.cos(math.pi * p)
    if shape == "sigmoid":
        return math.exp(-5.0 * (1.0 - p) ** 2)
    raise ValueError(f"unknown ramp shape {shape!r} (shapes: {', '.join(RAMP_SHAPES)})")


@component
class UnlabeledLoss:
    """Base class of unlabeled losses (FixMatch, UDA, ...): ``name``, ``views`` (the unlabeled views it reads) and
    :meth:`losses`; the schedule fields below are shared, and a subclass may redeclare one to change its default."""

    name: ClassVar[str]
    views: ClassVar[tuple[str, ...]] = ("weak", "strong")
    problems: ClassVar[tuple[str, ...]] = ("classification",)

    weight: float = param(1.0, help="weight of the unlabeled loss once ramped up", validator=attrs.validators.ge(0.0))
    warmup: float = param(
        0.0,
        help="fraction of each task trained without the unlabeled loss (its views are not loaded)",
        validator=fraction,
    )
    ramp: float = param(
        0.0,
        help="fraction of each task, after the warm-up, over which the weight rises to its full value",
        validator=fraction,
    )
    ramp_shape: str = param(
        "linear", help="shape of the ramp: linear, cosine or sigmoid", validator=one_of(*RAMP_SHAPES)
    )

    def weight_at(self, task_iter: int, iters_per_task: int) -> float:
        """The loss's weight at in-task iteration ``task_iter`` of a task of ``iters_per_task`` iterations."""
        start = round(self.warmup * iters_per_task)
        if task_iter < start:
            return 0.0
        span = round(self.ramp * iters_per_task)
        if span == 0:
            return self.weight
        return self.weight * ramp_factor(self.ramp_shape, (task_iter - start) / span)

    def losses(self, batch: SemiBatch, ctx: RunContext) -> dict[str, Tensor]:
        """The named, unweighted unlabeled losses of one iteration (the trainer applies the schedule's weight)."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """State beyond the hyperparameters that a checkpoint must keep (tensors and plain data)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
