"""EdgeHML: replay from a hierarchical memory pool, FixMatch-style consistency after a progressive warm-up."""

from __future__ import annotations

import attrs
import torch
import torch.nn.functional as F
from torch import Tensor

from sscl_core import Method, RunContext, SemiBatch, SsclError, component, hookimpl, param
from sscl_core.api.unlabeled import ramp_factor
from sscl_core.api.validators import fraction, probability
from sscl_core.library.pseudo_labels import confident_pseudo_labels, masked_mean, predict_without_grad
from sscl_plugin_edgehml.hml_pool import HierarchicalMemoryPool

_non_negative = attrs.validators.ge(0.0)


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
    follows. The loss weights, threshold, replay size and warm-up are the original configuration's values (k0
    200 of 1000 iterations is ``warmup`` 0.2; lambda_unsup_replay 0.1 is its CIFAR-10 setting). The rest is
    ours and decides the cost, not the losses' definition: after the warm-up only ``consistency_rows`` of the
    unlabeled rows are pseudo-labeled and trained, their strong view is built by the method
    (``strong_on_demand``) and forwarded only for the rows the mask keeps (``strong_confident_only``: the same
    loss for a fraction of the cost), and all gradient rows go through one forward (``joint_forward``: batch-norm
    statistics then come from all of them). Preset ``edgehml-original`` turns these off, as before they existed.
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
    threshold: float = param(0.95, help="confidence a pseudo-label needs (tau)", validator=probability)
    replay_batch_size: int = param(
        4, help="samples replayed per iteration from each RAM tier (m; original 8)", validator=attrs.validators.ge(1)
    )
    warmup: float = param(
        0.2,
        help="fraction of each task without the consistency loss and the strong view (k0 / iterations per task; "
        "0: no progressive schedule)",
        validator=fraction,
    )
    ramp: float = param(
        0.0, help="fraction of each task, after the warm-up, over which the cosine ramp rises (R)", validator=fraction
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
    joint_forward: bool = param(
        False,
        help="one forward (and backward) of the labeled, both replay and the strong-view rows together instead of "
        "one per batch (batch-norm statistics then come from all of them)",
    )
    consistency_rows: int = param(
        8,
        help="after the warm-up, pseudo-label, harvest and train the consistency on only this many rows of the "
        "unlabeled batch (0: all of them)",
        validator=attrs.validators.ge(0),
    )
    strong_on_demand: bool = param(
        True,
        help="build the strong view in the method, only for the rows the consistency loss uses, instead of "
        "having the batch builder augment every unlabeled row",
    )
    channels_last: bool = param(
        False, help="keep the model's weights and the training inputs in channels-last memory format"
    )
    refresh_every: int = param(
        0,
        help="also redraw M_U from the disk tier every this many iterations within a task (0: at task ends only)",
        validator=attrs.validators.ge(0),
    )

    def unsup_weight(self, task_iter: int, iters_per_task: int) -> float:
        """lambda_u(k): 0 during the warm-up (k < k0), then the cosine ramp ``0.5 - 0.5 cos(pi (k - k0) / R)``,
        then ``lambda_unsup``; k0 and R are the ``warmup`` and ``ramp`` fractions of ``iters_per_task``."""
        start, span = round(self.warmup * iters_per_task), round(self.ramp * iters_per_task)
        if task_iter < start:
            return 0.0
        if span and task_iter - start < span:
            return self.lambda_unsup * ramp_factor("cosine", (task_iter - start) / span)
        return self.lambda_unsup

    def harvests(self) -> bool:
        """Whether pseudo-labels are collected at all (they feed only the pseudo-label replay)."""
        return self.lambda_unsup_replay > 0

    def unlabeled_views(self, ctx: RunContext) -> tuple[str, ...]:
        """Both views once the consistency loss is on (the weak one only with ``strong_on_demand``); during
        the warm-up the weak view on harvest iterations only, else none."""
        if self.unsup_weight(ctx.task_iter, ctx.config.train.iters_per_task) > 0:
            return ("weak",) if self.strong_on_demand else ("weak", "strong")
        if self.harvests() and ctx.task_iter % self.harvest_every == 0:
            return ("weak",)
        return ()

    @hookimpl
    def before_run(self, ctx: RunContext) -> None:
        """Refuse a pool without EdgeHML's tiers; with ``channels_last``, convert the model's weights."""
        if not isinstance(ctx.memory_pool, HierarchicalMemoryPool):
            raise SsclError(
                f"method 'edgehml' needs memory pool 'hml', got '{type(ctx.memory_pool).name}': "
                "remove memory_pool.name from the config or set it to hml"
            )
        if self.channels_last:
            ctx.model.to(memory_format=torch.channels_last)

    def forward_train(self, batch: SemiBatch, ctx: RunContext) -> dict[str, Tensor]:
        """The labeled, replay and consistency losses; the labeled batch and confident pseudo-labels go to the pool."""
        if self.joint_forward:
            return self._joint_losses(batch, ctx)
        pool: HierarchicalMemoryPool = ctx.memory_pool
        losses = {"ce": self.lambda_sup * F.cross_entropy(self._model(ctx, batch.x), batch.y)}
        pool.add(batch.labeled_samples(), ctx.generator)
        replay = pool.sample_labeled(self.replay_batch_size, ctx.generator)
        if replay is not None and self.lambda_sup_replay > 0:
            losses["replay_ce"] = self.lambda_sup_replay * self._replay_ce(replay, ctx)
        if batch.u_weak is not None:
            losses.update(self._unlabeled_losses(batch, ctx))
        pseudo = pool.sample_pseudo(self.replay_batch_size, ctx.generator) if self.harvests() else None
        if pseudo is not None:
            losses["pseudo_replay_ce"] = self.lambda_unsup_replay * self._replay_ce(pseudo, ctx)
        return losses

    def _layout(self, x: Tensor) -> Tensor:
        """``x`` in the memory format the model takes: channels-last with ``channels_last``, else as it is."""
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def _model(self, ctx: RunContext, x: Tensor) -> Tensor:
        """The model's logits of ``x``."""
        return ctx.model(self._layout(x))

    def _replay_ce(self, samples: dict[str, Tensor], ctx: RunContext) -> Tensor:
        x = ctx.stream.transforms.weak(samples["x"].to(ctx.device), ctx.generator)
        return F.cross_entropy(self._model(ctx, x), samples["y"].to(ctx.device))

    def _unlabeled_losses(self, batch: SemiBatch, ctx: RunContext) -> dict[str, Tensor]:
        """The consistency loss of the separate forwards (the weak view's pseudo-labels harvested first)."""
        target = self._consistency_target(batch, ctx)
        if target is None:
            return {}
        strong, labels, mask, weight = target
        per_sample = F.cross_entropy(self._model(ctx, strong), labels, reduction="none")
        return {"unsup": weight * self._consistency(per_sample, mask)}

    def _consistency_target(self, batch: SemiBatch, ctx: RunContext) -> tuple[Tensor, Tensor, Tensor, float] | None:
        """Pseudo-label the weak view (no-grad), harvest the confident rows of the task's classes, and return
        the strong-view rows to train with their pseudo-labels, the mask over all rows and lambda_u(k); None
        when there is no consistency term in this iteration.

        After the warm-up, ``consistency_rows`` keeps only the first rows of the unlabeled batch (its rows are
        drawn at random). With ``strong_confident_only`` only the confident rows are returned (none below two);
        their loss is summed and divided by the number of all rows, which equals the masked mean.
        """
        weight = self.unsup_weight(ctx.task_iter, ctx.config.train.iters_per_task)
        weak, raw, index, strong = batch.u_weak, batch.u_raw, batch.u_index, batch.u_strong
        if weight > 0 and self.consistency_rows:
            rows = slice(0, self.consistency_rows)
            weak, raw, index = weak[rows], raw[rows], index[rows]
            strong = strong[rows] if strong is not None else None
        probs = predict_without_grad(ctx, self._layout(weak))
        labels, mask = confident_pseudo_labels(probs, self.threshold)
        if self.harvests():
            self._harvest(batch.task_id, raw, index, labels, mask, ctx)
        if weight == 0 or (strong is None and not self.strong_on_demand):
            return None
        keep = mask.bool() if self.strong_confident_only else torch.ones_like(mask, dtype=torch.bool)
        if self.strong_confident_only and int(keep.sum()) < 2:
            return None
        if strong is None:
            strong = ctx.stream.transforms.strong(raw[keep.cpu()].to(ctx.device), ctx.generator)
        elif self.strong_confident_only:
            strong = strong[keep]
        return strong, labels[keep], mask, weight

    def _consistency(self, per_sample: Tensor, mask: Tensor) -> Tensor:
        """The consistency loss from the per-row losses of the rows :meth:`_consistency_target` returned."""
        if self.strong_confident_only:
            return per_sample.sum() / len(mask)
        return masked_mean(per_sample, mask)

    def _harvest(self, task_id: int, raw: Tensor, index: Tensor, labels: Tensor, mask: Tensor, ctx: RunContext) -> None:
        """Offer the confident pseudo-labels of the current task's classes to the pool's disk tier."""
        in_task = torch.isin(labels, torch.tensor(ctx.task.classes, device=labels.device))
        keep = (mask.bool() & in_task).cpu()
        if keep.any():
            ctx.memory_pool.add_pseudo(
                {
                    "x": raw[keep],
                    "y": labels.cpu()[keep],
                    "task_id": torch.full((int(keep.sum()),), task_id, dtype=torch.long),
                    "index": index[keep],
                },
                ctx.generator,
            )

    def _joint_losses(self, batch: SemiBatch, ctx: RunContext) -> dict[str, Tensor]:
        """All losses from one forward: the labeled batch, both replay batches (augmented together) and the
        strong-view rows of the consistency loss, concatenated."""
        pool: HierarchicalMemoryPool = ctx.memory_pool
        target = self._consistency_target(batch, ctx) if batch.u_weak is not None else None
        pool.add(batch.labeled_samples(), ctx.generator)
        replay = pool.sample_labeled(self.replay_batch_size, ctx.generator) if self.lambda_sup_replay > 0 else None
        pseudo = pool.sample_pseudo(self.replay_batch_size, ctx.generator) if self.harvests() else None
        stored = [s for s in (replay, pseudo) if s is not None]
        parts: list[tuple[str, Tensor, Tensor]] = [("ce", batch.x, batch.y)]
        if stored:
            images = ctx.stream.transforms.weak(torch.cat([s["x"] for s in stored]).to(ctx.device), ctx.generator)
            labels = torch.cat([s["y"] for s in stored]).to(ctx.device)
            names = [n for n, s in (("replay_ce", replay), ("pseudo_replay_ce", pseudo)) if s is not None]
            sizes = [len(s["y"]) for s in stored]
            parts += list(zip(names, images.split(sizes), labels.split(sizes), strict=True))
        if target is not None:
            parts.append(("unsup", target[0], target[1]))
        logits = self._model(ctx, torch.cat([x for _, x, _ in parts])).split([len(x) for _, x, _ in parts])
        weights = {
            "ce": self.lambda_sup,
            "replay_ce": self.lambda_sup_replay,
            "pseudo_replay_ce": self.lambda_unsup_replay,
        }
        losses = {}
        for (name, _x, y), out in zip(parts, logits, strict=True):
            if name == "unsup":
                per_sample = F.cross_entropy(out, y, reduction="none")
                losses[name] = target[3] * self._consistency(per_sample, target[2])
            else:
                losses[name] = weights[name] * F.cross_entropy(out, y)
        return losses

    @hookimpl
    def after_iter(self, ctx: RunContext) -> None:
        """With ``refresh_every``, redraw M_U from the disk tier every that many iterations (not at the task's
        last one: the task-end redraw follows)."""
        done = ctx.task_iter + 1
        if self.refresh_every and self.harvests() and done % self.refresh_every == 0:
            if done < ctx.config.train.iters_per_task:
                self._refresh(ctx)

    @hookimpl
    def after_task(self, ctx: RunContext) -> None:
        """Refresh the pseudo-labeled RAM tier from the disk tier, weighted by the classes' loss on the labeled tier."""
        if self.harvests():
            self._refresh(ctx)

    def _refresh(self, ctx: RunContext) -> None:
        """Redraw M_U and log what the pool's pseudo-labeled tiers hold afterwards (event ``pseudo_refresh``)."""
        pool: HierarchicalMemoryPool = ctx.memory_pool
        pool.refresh_pseudo(self.class_losses(ctx), ctx.generator)
        ctx.log("pseudo_refresh", task=ctx.task_index, iter=ctx.task_iter, **pool.pseudo_contents())

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
