"""Fixtures of the cl plugin's tests (imported in importlib mode, so test modules reach them as fixtures)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from sscl_core import Callback, component, hookimpl
from sscl_core.testing import SyntheticTransforms


@pytest.fixture
def fake_ctx():
    """Build the parts of a RunContext that replay and regularization code read, around a model and pool."""

    def build(model: nn.Module, pool=None, seed: int = 0) -> SimpleNamespace:
        return SimpleNamespace(
            model=model,
            memory_pool=pool,
            device=torch.device("cpu"),
            generator=torch.Generator().manual_seed(seed),
            stream=SimpleNamespace(transforms=SyntheticTransforms()),
        )

    return build


@pytest.fixture
def keep_pool():
    """A callback class ``keep-pool`` and the list it appends each run's memory pool to at the run's end."""
    pools = []

    @component
    class KeepPool(Callback):
        name = "keep-pool"

        @hookimpl
        def after_run(self, ctx):
            pools.append(ctx.memory_pool)

    return KeepPool, pools
