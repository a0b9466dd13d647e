"""Experience replay (ER): rehearse labeled samples of past tasks kept in a memory pool."""

from __future__ import annotations

import attrs
import torch.nn.functional as F
from torch import Tensor

from sscl_core import Method, RunContext, SemiBatch, component, param


@component
class ExperienceReplay(Method):
    """Experience replay: cross-entropy on the labeled batch plus on a batch drawn from the memory pool.

    Every labeled sample seen is offered to the pool (kept as uint8) and re-augmented when replayed.
    """

    name = "er"
    uses_memory_pool = True
    replay_batch_size: int = param(
        8, help="samples drawn from the pool per iteration", validator=attrs.validators.ge(1)
    )
    replay_weight: float = param(1.0, help="weight of the replay loss", validator=attrs.validators.ge(0.0))

    def forward_train(self, batch: SemiBatch, ctx: RunContext) -> dict[str, Tensor]:
        """Labeled cross-entropy, replay cross-entropy, then the labeled batch goes to the pool."""
        losses = {"ce": F.cross_entropy(ctx.model(batch.x), batch.y)}
        replay = ctx.memory_pool.sample(self.replay_batch_size, ctx.generator)
        if replay is not None:
            x = ctx.stream.transforms.weak(replay["x"].to(ctx.device), ctx.generator)
            losses["replay_ce"] = self.replay_weight * F.cross_entropy(ctx.model(x), replay["y"].to(ctx.device))
        ctx.memory_pool.add(batch.labeled_samples(), ctx.generator)
        return losses
