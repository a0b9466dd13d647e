"""EdgeHML: replay from a hierarchical memory pool, FixMatch-style consistency after a progressive warm-up."""

from __future__ import annotations

import math
from typing import Any

import attrs
import torch
import torch.nn.functional as F
from torch import Tensor

from sscl_core import Method, RunContext, SemiBatch, SsclError, component, hookimpl, param
from sscl_core.library.pseudo_labels import confident_pseudo_labels, masked_mean, predict_without_grad
from sscl_plugin_edgehml.hml_pool import HierarchicalMemoryPool

_non_negative = attrs.validators.ge(0.0)


def _fraction(_instance: Any, attribute: Any, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be a fraction of a task between 0 and 1, got {value!r}")


def _probability(_instance: Any, attribute: Any, value: float) -> None:
    if not 0.0 < value <= 1.0:
        raise ValueError(f"{attribute.name} must be a probability in (0, 1], got {value!r}")


@component
class EdgeHML(Method):
    """EdgeHML (Wang, Han, Liu, 2023): the hierarchical memory learner for semi-supervised continual learning.

    Four losses per iteration: cross-entropy on the labeled batch, on a batch replayed from the labeled RAM
    tier and on a batch replayed from the pseudo-labeled RAM tier, plus FixMatch's consistency (strong view
    against the weak view's confident hard pseudo-label). Confident pseudo-labels of the current task's classes
    are harvested into the pool's disk tier; at each task end the pool redraws its pseudo-labeled RAM tier from
    the disk tier, weighted towards rare and hard classes (the classes' mean loss on the labeled tier).
    Progressive learning: for the first ``warmup`` fraction of every task the unlabeled consistency is off, and
    then no strong view is built or forwarded; the weak view is forwarded (no-grad) only every
    ``harvest_every`` iterations to harvest pseudo-labels. An optional cosine ramp over a ``ramp`` fraction
    follows. Defaults are the original configuration's values (k0 200 of 1000 iterations is ``warmup`` 0.2;
    lambda_unsup_replay 0.1 is its CIFAR-10 setting); ``harvest_every`` is ours (the original forwarded both
    views in every iteration), and so is ``strong_confident_only``: the strong view is forwarded only for the
    rows the mask keeps (at least two), which gives the same loss for a fraction of the cost (batch-norm
    statistics then come from those rows only).
    """

    name = "edgehml"
    uses_unlabeled = True
    uses_memory_pool = True
    default_memory_pool = {"name": "hml", "size": 200, "disk_size": 2000}

    lambda_sup: float = param(1.0, help="weight of the labeled cross-entropy", validator=_non_negative)
    lambda_sup_replay: float = param(
        1.0, help="weight of the cross-entropy on the labeled replay batch", validator=_non_negative
    )
    lambda_unsup: float = param(1.0, help="weight of the consistency loss after the warm-up", validator=_non_negative)
    lambda_unsup_replay: float = param(
        0.1,
        help="weight of the cross-entropy on the pseudo-labeled replay batch (0: no pseudo-label replay, no harvest)",
        validator=_non_negative,
    )
    threshold: float = param(0.95, help="confidence a pseudo-label needs (tau)", validator=_probability)
    replay_batch_size: int = param(
        8, help="samples replayed per iteration from each RAM tier (m)", validator=attrs.validators.ge(1)
    )
    warmup: float = param(
        0.2,
        help="fraction of each task without the consistency loss and the strong view (k0 / iterations per task; "
        "0: no progressive schedule)",
        validator=_fraction,
    )
    ramp: float = param(
        0.0, help="fraction of each task, after the warm-up, over which the cosine ramp rises (R)", validator=_fraction
    )
    strong_confident_only: bool = param(
        True,
        help="forward the strong view only for the rows whose pseudo-label passes the threshold (the others add "
        "nothing to the consistency loss)",
    )
    harvest_every: int = param(
        10,
        help="during the warm-up, forward the weak view (no-grad) to harvest pseudo-labels every this many iterations",
        validator=attrs.validators.ge(1),
    )

    def unsup_weight(self, task_iter: int, iters_per_task: int) -> float:
        """lambda_u(k): 0 during the warm-up (k < k0), then the cosine ramp ``0.5 - 0.5 cos(pi (k - k0) / R)``,
        then ``lambda_unsup``; k0 and R are the ``warmup`` and ``ramp`` fractions of ``iters_per_task``."""
        start, span = round(self.warmup * iters_per_task), round(self.ramp * iters_per_task)
        if task_iter < start:
            return 0.0
        if span and task_iter - start < span:
            return self.lambda_unsup * (0.5 - 0.5 * math.cos(math.pi * (task_iter - start) / span))
        return self.lambda_unsup

    def harvests(self) -> bool:
        """Whether pseudo-labels are collected at all (they feed only the pseudo-label replay)."""
        return self.lambda_unsup_replay > 0

    def unlabeled_views(self, ctx: RunContext) -> tuple[str, ...]:
        """Both views once the consistency loss is on; during the warm-up the weak view on harvest iterations
        only, else none."""
        if self.unsup_weight(ctx.task_iter, ctx.config.train.iters_per_task) > 0:
            return ("weak", "strong")
        if self.harvests() and ctx.task_iter % self.harvest_every == 0:
            return ("weak",)
        return ()

    @hookimpl
    def before_run(self, ctx: RunContext) -> None:
        """Refuse a pool without EdgeHML's tiers."""
        if not isinstance(ctx.memory_pool, HierarchicalMemoryPool):
            raise SsclError(
                f"method 'edgehml' needs memory pool 'hml', got '{type(ctx.memory_pool).name}': "
                "remove memory_pool.name from the config or set it to hml"
            )

    def forward_train(self, batch: SemiBatch, ctx: RunContext) -> dict[str, Tensor]:
        """The labeled, replay and consistency losses; the labeled batch and confident pseudo-labels go to the pool."""
        pool: HierarchicalMemoryPool = ctx.memory_pool
        losses = {"ce": self.lambda_sup * F.cross_entropy(ctx.model(batch.x), batch.y)}
        pool.add(batch.labeled_samples(), ctx.generator)
        replay = pool.sample_labeled(self.replay_batch_size, ctx.generator)
        if replay is not None and self.lambda_sup_replay > 0:
            losses["replay_ce"] = self.lambda_sup_replay * self._replay_ce(replay, ctx)
        if batch.u_weak is not None:
            losses.update(self._unlabeled_losses(batch, ctx, pool))
        pseudo = pool.sample_pseudo(self.replay_batch_size, ctx.generator) if self.harvests() else None
        if pseudo is not None:
            losses["pseudo_replay_ce"] = self.lambda_unsup_replay * self._replay_ce(pseudo, ctx)
        return losses

    def _replay_ce(self, samples: dict[str, Tensor], ctx: RunContext) -> Tensor:
        x = ctx.stream.transforms.weak(samples["x"].to(ctx.device), ctx.generator)
        return F.cross_entropy(ctx.model(x), samples["y"].to(ctx.device))

    def _unlabeled_losses(self, batch: SemiBatch, ctx: RunContext, pool: HierarchicalMemoryPool) -> dict[str, Tensor]:
        probs = predict_without_grad(ctx, batch.u_weak)
        labels, mask = confident_pseudo_labels(probs, self.threshold)
        if self.harvests():
            in_task = torch.isin(labels, torch.tensor(ctx.task.classes, device=labels.device))
            keep = (mask.bool() & in_task).cpu()
            if keep.any():
                pool.add_pseudo(
                    {
                        "x": batch.u_raw[keep],
                        "y": labels.cpu()[keep],
                        "task_id": torch.full((int(keep.sum()),), batch.task_id, dtype=torch.long),
                        "index": batch.u_index[keep],
                    },
                    ctx.generator,
                )
        weight = self.unsup_weight(ctx.task_iter, ctx.config.train.iters_per_task)
        if weight == 0 or batch.u_strong is None:
            return {}
        if not self.strong_confident_only:
            per_sample = F.cross_entropy(ctx.model(batch.u_strong), labels, reduction="none")
            return {"unsup": weight * masked_mean(per_sample, mask)}
        rows = mask.bool()
        if int(rows.sum()) < 2:
            return {}
        per_sample = F.cross_entropy(ctx.model(batch.u_strong[rows]), labels[rows], reduction="none")
        return {"unsup": weight * per_sample.sum() / len(mask)}

    @hookimpl
    def after_task(self, ctx: RunContext) -> None:
        """Refresh the pseudo-labeled RAM tier from the disk tier, weighted by the classes' loss on the labeled tier."""
        if self.harvests():
            ctx.memory_pool.refresh_pseudo(self.class_losses(ctx), ctx.generator)

    def class_losses(self, ctx: RunContext) -> dict[int, float]:
        """The model's mean cross-entropy per class on the labeled RAM tier (test transform, eval mode, no-grad)."""
        samples = ctx.memory_pool.labeled_samples()
        if samples is None:
            return {}
        was_training = ctx.model.training
        ctx.model.eval()
        with torch.no_grad():
            logits = ctx.model(ctx.stream.transforms.test(samples["x"].to(ctx.device)))
            per_sample = F.cross_entropy(logits, samples["y"].to(ctx.device), reduction="none").cpu()
        ctx.model.train(was_training)
        y = samples["y"]
        return {int(c): float(per_sample[y == c].mean()) for c in torch.unique(y)}
