"""The ONNX format of ``sscl export``: written by torch's TorchScript-based exporter (no network, no onnxscript),
validated by ``onnx``, run by ``onnxruntime`` when installed. Both come with the ``onnx`` extra."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import torch
from torch import Tensor

from sscl_core import SsclError
from sscl_plugin_deploy.deployable import INPUT_NAME, OUTPUT_NAME

INSTALL = "pip install 'sscl-plugin-deploy[onnx]'"
"""How to install what the ONNX format needs."""
OPSET = 17
"""The ONNX opset written (onnxruntime 1.17 and later run it)."""


def require_onnx() -> None:
    """Refuse in one line when the ``onnx`` package is missing."""
    if importlib.util.find_spec("onnx") is None:
        raise SsclError(f"--format onnx needs the onnx package, which is not installed: {INSTALL}")


def write_onnx(module: torch.jit.ScriptModule, example: Tensor, out: Path) -> None:
    """Export the traced ``module`` to ``out`` with a dynamic batch size, then check the file with onnx."""
    import onnx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (example,),
            str(out),
            dynamo=False,
            opset_version=OPSET,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
        )
    onnx.checker.check_model(str(out))


def onnxruntime_outputs(path: Path, images: Tensor, batch_size: int) -> Tensor | None:
    """The outputs onnxruntime computes from ``path`` for uint8 ``images``; None without onnxruntime."""
    if importlib.util.find_spec("onnxruntime") is None:
        return None
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    chunks = [images[i : i + batch_size].numpy() for i in range(0, len(images), batch_size)]
    return torch.cat([torch.from_numpy(session.run(None, {INPUT_NAME: chunk})[0]) for chunk in chunks])
