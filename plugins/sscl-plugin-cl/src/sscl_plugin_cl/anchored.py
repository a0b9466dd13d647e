"""What SI and online EWC share: a per-parameter importance and a quadratic pull towards an anchor."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from sscl_core import RunContext, SemiBatch, component
from sscl_plugin_cl.supervised import SupervisedMethod


def trainable(ctx: RunContext) -> dict[str, Tensor]:
    """The model's trainable parameters by name."""
    return {name: p for name, p in ctx.model.named_parameters() if p.requires_grad}


def snapshot(ctx: RunContext) -> dict[str, Tensor]:
    """A detached copy of the model's trainable parameters by name."""
    return {name: p.detach().clone() for name, p in trainable(ctx).items()}


@component
class AnchoredMethod(SupervisedMethod):
    """Base class of importance-weighted regularizers: labeled cross-entropy plus
    ``penalty_weight * sum(importance * (theta - anchor) ** 2)`` once a task has ended.

    Subclasses fill ``self.importance`` and ``self.anchor`` (parameter name -> tensor) at task ends and name
    the penalty with ``penalty_name``.
    """

    penalty_name = "penalty"

    def __attrs_post_init__(self) -> None:
        self.importance: dict[str, Tensor] = {}
        self.anchor: dict[str, Tensor] = {}

    def penalty_weight(self) -> float:
        """Factor of the quadratic penalty."""
        raise NotImplementedError

    def penalty(self, ctx: RunContext) -> Tensor:
        """``sum(importance * (theta - anchor) ** 2)`` over the anchored parameters."""
        params = trainable(ctx)
        return sum((self.importance[name] * (params[name] - self.anchor[name]).pow(2)).sum() for name in self.anchor)

    def forward_train(self, batch: SemiBatch, ctx: RunContext) -> dict[str, Tensor]:
        """Labeled cross-entropy, plus the weighted penalty after the first task."""
        losses = {"ce": self.labeled_loss(ctx.model(batch.x), batch, ctx)}
        if self.anchor:
            losses[self.penalty_name] = self.penalty_weight() * self.penalty(ctx)
        return losses

    def state_dict(self) -> dict[str, Any]:
        """Importance and anchor by parameter name."""
        return {"importance": dict(self.importance), "anchor": dict(self.anchor)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore importance and anchor."""
        self.importance = {k: v.clone() for k, v in state["importance"].items()}
        self.anchor = {k: v.clone() for k, v in state["anchor"].items()}
