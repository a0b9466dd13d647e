"""Online elastic weight consolidation (online EWC): a running Fisher diagonal pulls weights to an anchor."""

from __future__ import annotations

import attrs
import torch
from torch import Tensor

from sscl_core import RunContext, Task, component, hookimpl, param
from sscl_plugin_cl.anchored import AnchoredMethod, snapshot, trainable


@component
class OnlineEWC(AnchoredMethod):
    """Online EWC (Schwarz et al., 2018): ``F = gamma * F + F_task`` at every task end, anchor at the end.

    ``F_task`` is the empirical Fisher diagonal: the mean over the task's labeled samples (evaluation view,
    model in eval mode) of the squared gradient of each sample's log-likelihood of its label. The loss adds
    ``ewc_lambda / 2 * sum(F * (theta - anchor) ** 2)``.
    """

    name = "ewc-online"
    penalty_name = "ewc_penalty"
    ewc_lambda: float = param(100.0, help="weight (lambda) of the Fisher penalty", validator=attrs.validators.ge(0.0))
    gamma: float = param(
        1.0, help="decay of the Fisher of earlier tasks at each task end", validator=attrs.validators.ge(0.0)
    )

    def penalty_weight(self) -> float:
        """``ewc_lambda / 2``."""
        return self.ewc_lambda / 2

    def fisher(self, ctx: RunContext, task: Task) -> dict[str, Tensor]:
        """Empirical Fisher diagonal of ``task``'s labeled samples, one sample at a time."""
        params = trainable(ctx)
        fisher = {name: torch.zeros_like(p) for name, p in params.items()}
        images = ctx.stream.transforms.test(task.labeled_x.to(ctx.device))
        labels = task.labeled_y.to(ctx.device)
        task_ids = torch.full_like(labels, task.id)
        ctx.model.eval()
        for i in range(len(labels)):
            logits = ctx.model(images[i : i + 1])
            loss = self.supervised_loss(logits, labels[i : i + 1], task_ids[i : i + 1], ctx)
            grads = torch.autograd.grad(loss, list(params.values()), allow_unused=True)
            for name, grad in zip(params, grads, strict=True):
                if grad is not None:
                    fisher[name] += grad.detach().pow(2)
        ctx.model.train()
        return {name: value / max(1, len(labels)) for name, value in fisher.items()}

    @hookimpl
    def after_task(self, ctx: RunContext, task: Task) -> None:
        """Decay the running Fisher, add this task's and anchor at the current parameters."""
        current = self.fisher(ctx, task)
        for name, value in current.items():
            self.importance[name] = self.gamma * self.importance.get(name, torch.zeros_like(value)) + value
        self.anchor = snapshot(ctx)
