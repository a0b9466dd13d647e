"""The network a device runs: uint8 images in, the class-IL eval outputs out, the stream's preprocessing inside."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import torch
from torch import Tensor, nn

from sscl_plugin_deploy.restore import RestoredRun

INPUT_NAME = "images"
"""Name of the exported model's input: uint8 images (N, C, H, W)."""
OUTPUT_NAME = "logits"
"""Name of the exported model's output: (N, num_classes) float32, -inf for classes not learned yet."""


class Deployable(nn.Module):
    """The restored run's test view (dtype conversion and normalization) followed by its eval outputs."""

    def __init__(self, run: RestoredRun) -> None:
        super().__init__()
        self.model = run.ctx.model
        self._run = run

    def forward(self, images: Tensor) -> Tensor:
        """Eval outputs (N, num_classes) of uint8 images (N, C, H, W)."""
        return self._run.eval_outputs(self._run.ctx.stream.transforms.test(images))


def traced(run: RestoredRun, example: Tensor) -> torch.jit.ScriptModule:
    """:class:`Deployable` traced with the uint8 images ``example``: a TorchScript module without Python.

    The transforms' constants (mean, std) become constants of the trace, which is what folding them in means;
    torch's warnings that they do, and that TorchScript is deprecated in favour of torch.export, are silenced.
    """
    with torch.no_grad(), quiet_torchscript():
        return torch.jit.trace(Deployable(run).eval(), (example,), check_trace=False)


@contextlib.contextmanager
def quiet_torchscript() -> Iterator[None]:
    """Silence torch's TracerWarnings and its FutureWarnings about TorchScript being deprecated."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", category=FutureWarning, message=r".*torch\.jit\.")
        yield
