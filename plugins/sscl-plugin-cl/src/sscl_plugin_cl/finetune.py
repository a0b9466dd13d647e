"""Supervised fine-tuning (SFT): cross-entropy on the labeled samples of the current task only."""

from __future__ import annotations

from torch import Tensor

from sscl_core import ANY_PROBLEM, RunContext, SemiBatch, component
from sscl_plugin_cl.supervised import SupervisedMethod


@component
class Finetune(SupervisedMethod):
    """Supervised fine-tuning on the labeled samples only: the lower bound of continual learning."""

    name = "finetune"
    problems = (ANY_PROBLEM,)

    def forward_train(self, batch: SemiBatch, ctx: RunContext) -> dict[str, Tensor]:
        """The model's loss (cross-entropy, for classification) on the labeled batch."""
        return {"ce": self.labeled_loss(ctx.model(batch.x), batch, ctx)}
