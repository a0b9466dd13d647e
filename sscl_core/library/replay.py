"""Drawing a replay batch from the run's memory pool and re-augmenting its stored uint8 images (for any method
that replays: er, der, edgehml, ...)."""

from __future__ import annotations

from torch import Tensor

from sscl_core.api.context import RunContext
from sscl_core.api.memory import Samples
from sscl_core.api.samples import to_device


def draw_replay(ctx: RunContext, n: int) -> tuple[Tensor, Samples] | None:
    """Up to ``n`` stored samples with a fresh weak view of their images on the run's device, or ``None``
    while the pool is empty. The other stored keys (``y``, ``task_id``, ``logits``, ...) stay on the CPU."""
    samples = ctx.memory_pool.sample(n, ctx.generator)
    if samples is None:
        return None
    return ctx.stream.transforms.weak(to_device(samples["x"], ctx.device), ctx.generator), samples
