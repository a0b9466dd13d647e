"""Experience replay (ER): rehearse labeled samples of past tasks kept in a memory pool."""

from __future__ import annotations

import attrs
from torch import Tensor

from sscl_core import ANY_PROBLEM, RunContext, SemiBatch, component, param
from sscl_plugin_cl.supervised import SupervisedMethod


@component
class ExperienceReplay(SupervisedMethod):
    """Experience replay: the model's loss (cross-entropy, for classification) on the labeled batch plus on a batch
    drawn from the memory pool.

    Every labeled sample seen is offered to the pool (kept as uint8) and re-augmented when replayed.
    """

    name = "er"
    problems = (ANY_PROBLEM,)
    uses_memory_pool = True
    replay_batch_size: int = param(
        8, help="samples drawn from the pool per iteration", validator=attrs.validators.ge(1)
    )
    replay_weight: float = param(1.0, help="weight of the replay loss", validator=attrs.validators.ge(0.0))

    def forward_train(self, batch: SemiBatch, ctx: RunContext) -> dict[str, Tensor]:
        """Labeled cross-entropy, replay cross-entropy, then the labeled batch goes to the pool."""
        losses = {"ce": self.labeled_loss(ctx.model(batch.x), batch, ctx)}
        replay = self.replay_loss(ctx, self.replay_batch_size)
        if replay is not None:
            losses["replay_ce"] = self.replay_weight * replay
        ctx.memory_pool.add(batch.labeled_samples(), ctx.generator)
        return losses
