"""Dark Experience Replay (DER) and DER++: replay past samples and match the logits they had when stored."""

from __future__ import annotations

import attrs
import torch.nn.functional as F
from torch import Tensor

from sscl_core import RunContext, SemiBatch, component, param
from sscl_plugin_cl.supervised import SupervisedMethod, draw_replay


@component
class DarkExperienceReplay(SupervisedMethod):
    """Dark Experience Replay (Buzzega et al., 2020): labeled cross-entropy plus logit matching on replay.

    Each labeled sample goes to the memory pool with the logits the model produced for it in the training
    forward pass of the iteration it was offered (key ``logits``); replay re-augments the stored uint8 images
    and adds ``alpha`` times the mean squared error between the model's logits and the stored ones.
    The default pool is ``reservoir`` of 200 with ``dedup: false``: every repetition of a labeled sample is a
    new offer, as in the original's reservoir over the stream of batches, so stored logits come from all
    along a task's training. With ``dedup`` on, each of the few labeled samples would be stored once, with
    the logits of the task's first iterations, before the model learned its class (docs/results.md measures
    that); set ``memory_pool.dedup=false`` for other pools too.
    Defaults: ``alpha`` 0.3 as in the original SSCL configs (which used a pool of 2000 for CIFAR-100).
    """

    name = "der"
    uses_memory_pool = True
    default_memory_pool = {"name": "reservoir", "size": 200, "dedup": False}
    replay_batch_size: int = param(
        8, help="samples drawn from the pool per iteration", validator=attrs.validators.ge(1)
    )
    alpha: float = param(0.3, help="weight of the logit-matching (MSE) loss", validator=attrs.validators.ge(0.0))

    def forward_train(self, batch: SemiBatch, ctx: RunContext) -> dict[str, Tensor]:
        """Labeled cross-entropy, replay losses, then the labeled batch and its logits go to the pool."""
        logits = ctx.model(batch.x)
        losses = {"ce": self.labeled_loss(logits, batch, ctx)}
        losses.update(self.replay_losses(ctx))
        ctx.memory_pool.add({**batch.labeled_samples(), "logits": logits.detach().cpu()}, ctx.generator)
        return losses

    def replay_losses(self, ctx: RunContext) -> dict[str, Tensor]:
        """``alpha`` times the MSE between the logits of a re-augmented replay batch and the stored logits."""
        replay = draw_replay(ctx, self.replay_batch_size)
        if replay is None:
            return {}
        x, samples = replay
        return {"der_mse": self.alpha * F.mse_loss(ctx.model(x), samples["logits"].to(ctx.device))}


@component
class DarkExperienceReplayPlusPlus(DarkExperienceReplay):
    """DER++ (Buzzega et al., 2020): DER plus ``beta`` times the cross-entropy on a second replay batch.

    The second batch is drawn independently of the first and trained on its stored labels. Defaults:
    ``alpha`` 0.3 as DER; ``beta`` 0.5 (the original SSCL configs set beta 0 for CIFAR-100, which is DER).
    """

    name = "derpp"
    beta: float = param(
        0.5, help="weight of the cross-entropy on the second replay batch", validator=attrs.validators.ge(0.0)
    )

    def replay_losses(self, ctx: RunContext) -> dict[str, Tensor]:
        """DER's logit matching plus the weighted label cross-entropy on a second replay batch."""
        losses = super().replay_losses(ctx)
        replay = self.replay_loss(ctx, self.replay_batch_size)
        if replay is not None:
            losses["derpp_ce"] = self.beta * replay
        return losses
