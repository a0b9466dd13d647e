"""Synaptic Intelligence (SI): importance from each parameter's contribution to the loss decrease."""

from __future__ import annotations

import attrs
import torch
from torch import Tensor

from sscl_core import RunContext, Task, component, hookimpl, param
from sscl_plugin_cl.anchored import AnchoredMethod, snapshot, trainable


@component
class SynapticIntelligence(AnchoredMethod):
    """Synaptic Intelligence (Zenke et al., 2017): a quadratic penalty weighted by path-integral importance.

    During a task, after every optimizer step, each parameter accumulates ``omega += -grad * delta`` (the
    gradient the step used, i.e. of the total loss, times the change the step made). At the task's end its
    importance grows by ``max(omega, 0) / (total change over the task ** 2 + xi)`` (negative path terms,
    possible with momentum, are dropped so the penalty never rewards moving) and the anchor becomes the
    current parameters. The loss adds ``c * sum(importance * (theta - anchor) ** 2)``.
    Defaults c = 0.5 and xi = 1.0 as in the original SSCL configs.
    """

    name = "si"
    penalty_name = "si_penalty"
    c: float = param(0.5, help="weight of the importance penalty", validator=attrs.validators.ge(0.0))
    xi: float = param(1.0, help="damping of the importance normalization", validator=attrs.validators.gt(0.0))

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.omega: dict[str, Tensor] = {}
        self._task_start: dict[str, Tensor] = {}
        self._previous: dict[str, Tensor] = {}

    def penalty_weight(self) -> float:
        """``c``."""
        return self.c

    @hookimpl
    def before_task(self, ctx: RunContext, task: Task) -> None:
        """Start the path integral of this task."""
        self._task_start = snapshot(ctx)
        self._previous = snapshot(ctx)
        self.omega = {name: torch.zeros_like(p) for name, p in self._task_start.items()}

    @hookimpl
    def after_iter(self, ctx: RunContext) -> None:
        """Add ``-grad * delta`` of the step just taken to each parameter's path integral."""
        with torch.no_grad():
            for name, p in trainable(ctx).items():
                if p.grad is not None:
                    self.omega[name] -= p.grad * (p - self._previous[name])
                self._previous[name].copy_(p)

    @hookimpl
    def after_task(self, ctx: RunContext, task: Task) -> None:
        """Turn the task's path integral into importance and anchor at the current parameters."""
        current = snapshot(ctx)
        for name, value in current.items():
            gain = self.omega[name].clamp(min=0) / ((value - self._task_start[name]).pow(2) + self.xi)
            self.importance[name] = self.importance.get(name, torch.zeros_like(value)) + gain
        self.anchor = current
