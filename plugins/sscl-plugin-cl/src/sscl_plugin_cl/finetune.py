"""Supervised fine-tuning (SFT): cross-entropy on the labeled samples of the current task only."""

from __future__ import annotations

from torch import Tensor

from sscl_core import RunContext, SemiBatch, component
from sscl_plugin_cl.supervised import SupervisedMethod


@component
class Finetune(SupervisedMethod):
    """Supervised fine-tuning on the labeled samples only: the lower bound of continual learning."""

    name = "finetune"

    def forward_train(self, batch: SemiBatch, ctx: RunContext) -> dict[str, Tensor]:
        """Cross-entropy on the labeled batch."""
        return {"ce": self.labeled_ce(ctx.model(batch.x), batch, ctx)}
