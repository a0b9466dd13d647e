"""Supervised fine-tuning (SFT): cross-entropy on the labeled samples of the current task only."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from sscl_core import Method, RunContext, SemiBatch, component


@component
class Finetune(Method):
    """Supervised fine-tuning on the labeled samples only: the lower bound of continual learning."""

    name = "finetune"

    def forward_train(self, batch: SemiBatch, ctx: RunContext) -> dict[str, Tensor]:
        """Cross-entropy on the labeled batch."""
        return {"ce": F.cross_entropy(ctx.model(batch.x), batch.y)}
