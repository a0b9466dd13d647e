"""The unlabeled-loss interface: a semi-supervised loss added to any method's losses by configuration.

A run combines its method with at most one unlabeled loss (config section ``unlabeled``, or the method
shorthand ``--method der+fixmatch``). In every iteration the trainer loads the views the loss asks for, calls
the method's ``forward_train`` and adds the loss's terms multiplied by the schedule's weight:
``weight * ramp(progress)`` after ``warmup`` and zero before it. While the weight is zero the loss is not
called and its views are not loaded, so a warm-up costs nothing. The schedule restarts with every task, like
the learning rate. An unlabeled loss may implement lifecycle hooks (e.g. ``before_iter`` to set
``batch.labeled_weight``); its ``state_dict`` is saved with the run's checkpoints.
"""

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
    """The ramp's value at ``progress`` (0 at the start of the ramp, 1 at its end; clipped outside).

    ``linear`` is ``p``, ``cosine`` is ``0.5 - 0.5 cos(pi p)``, ``sigmoid`` is ``exp(-5 (1 - p)^2)`` (the
    ramp of temporal ensembling and Mean Teacher).
    """
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
    """Base class of unlabeled-loss components (FixMatch, UDA, ...), composable with any method.

    Subclasses set ``name`` and ``views`` (the unlabeled views they read: ``"weak"``, ``"strong"``) and
    implement :meth:`losses`. The schedule fields below are shared by every unlabeled loss; a subclass may
    change their defaults by redeclaring them.
    """

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
