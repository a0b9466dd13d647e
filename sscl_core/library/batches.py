"""Passing many stored images through the model: the test view, batch by batch, on the run's device."""

from collections.abc import Iterator
from typing import Any

from torch import Tensor

from sscl_core.api.context import RunContext
from sscl_core.api.samples import to_device


def test_views(ctx: RunContext, images: Any) -> Iterator[tuple[slice, Tensor]]:
    """The test view (``ctx.stream.transforms.test``) of ``images`` (a tensor or a list) in batches of
    ``train.eval_batch_size`` on the run's device, each with the slice of ``images`` it covers."""
    size = ctx.config.train.eval_batch_size
    for start in range(0, len(images), size):
        rows = slice(start, start + size)
        yield rows, ctx.stream.transforms.test(to_device(images[rows], ctx.device))
