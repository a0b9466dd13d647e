"""``sscl export``: a run's model as one file a device loads, its class names beside it, checked on test images.

The file holds the stream's test preprocessing (uint8 to float, normalization) and the class-IL eval outputs
of the method (classes not learned yet at -inf), so a device feeds it raw uint8 images (N, C, H, W). The command
runs the written file on the run's test images and compares it with the framework's own eval outputs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import torch
from torch import Tensor

from sscl_core import SsclError
from sscl_plugin_deploy.deployable import INPUT_NAME, OUTPUT_NAME, quiet_torchscript, traced
from sscl_plugin_deploy.onnx_format import INSTALL, onnxruntime_outputs, require_onnx, write_onnx
from sscl_plugin_deploy.restore import RestoredRun

SUFFIXES = {"torchscript": ".pt", "onnx": ".onnx"}
"""The formats ``sscl export`` writes and the suffix of their default file names."""
EXPORT_DIR = "export"
"""Folder of the run directory that exported files go to by default."""
CLASSES_ENTRY = "classes.json"
"""Name of the class list inside a TorchScript file's extra files (and the suffix of the file beside it)."""


@attrs.define
class ExportResult:
    """What ``sscl export`` wrote and how far its outputs are from the framework's."""

    file: Path
    classes_file: Path
    checked_images: int
    max_abs_difference: float | None
    """None when the file could not be run here (ONNX without onnxruntime)."""
    agreement: float | None
    """Share of the checked images whose top class is the framework's."""


def default_out(run: RestoredRun, fmt: str) -> Path:
    """``RUN_DIR/export/model-after-task-N.pt`` (or ``.onnx``)."""
    return run.run_dir / EXPORT_DIR / f"model-after-task-{run.tasks_done}{SUFFIXES[fmt]}"


def classes_file(out: Path) -> Path:
    """The JSON file of class names beside the exported ``out``: ``model.pt`` -> ``model.classes.json``."""
    return out.with_name(f"{out.stem}.{CLASSES_ENTRY}")


def model_card(run: RestoredRun) -> dict[str, Any]:
    """Class names and input/output layout of the exported model, as written beside it."""
    return {
        "format": "sscl-export",
        "tasks_done": run.tasks_done,
        "classes": run.class_names,
        "learned_classes": run.seen_classes,
        "input": {"name": INPUT_NAME, "dtype": "uint8", "shape": ["N", *run.ctx.stream.input_shape]},
        "output": {"name": OUTPUT_NAME, "dtype": "float32", "shape": ["N", run.ctx.stream.num_classes]},
    }


def max_abs_difference(a: Tensor, b: Tensor) -> float:
    """Largest absolute difference of finite entries; infinite when the -inf entries are not the same."""
    if a.shape != b.shape or not torch.equal(torch.isinf(a), torch.isinf(b)):
        return float("inf")
    finite = torch.isfinite(b)
    return float((a[finite] - b[finite]).abs().max()) if bool(finite.any()) else 0.0


def export_run(run: RestoredRun, fmt: str, out: Path, check_images: int) -> ExportResult:
    """Write ``run``'s model in ``fmt`` to ``out`` and the class names beside it; check it on test images."""
    if fmt == "onnx":
        require_onnx()
    images = run.test_images(check_images)
    module = traced(run, images[:2])
    card = json.dumps(model_card(run), indent=1)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "torchscript":
            with quiet_torchscript():
                torch.jit.save(module, str(out), _extra_files={CLASSES_ENTRY: card})
        else:
            write_onnx(module, images[:2], out)
        classes_file(out).write_text(card + "\n", encoding="utf-8")
    except OSError as error:
        raise SsclError(f"cannot write {out}: {error.strerror or error}: give --out a writable place") from None
    outputs = exported_outputs(out, fmt, images, run.ctx.config.train.eval_batch_size)
    if outputs is None:
        return ExportResult(out, classes_file(out), 0, None, None)
    expected = run.framework_outputs(images)
    agreement = float((outputs.argmax(1) == expected.argmax(1)).float().mean())
    return ExportResult(out, classes_file(out), len(images), max_abs_difference(outputs, expected), agreement)


def exported_outputs(path: Path, fmt: str, images: Tensor, batch_size: int) -> Tensor | None:
    """The outputs of the file written, loaded back as a device would load it (None: no runtime here)."""
    if fmt == "onnx":
        return onnxruntime_outputs(path, images, batch_size)
    with quiet_torchscript():
        module = torch.jit.load(str(path))
    with torch.no_grad():
        return torch.cat([module(images[i : i + batch_size]) for i in range(0, len(images), batch_size)])


def not_checked_note(fmt: str) -> str:
    """Why an export was not run here."""
    return f"not checked: onnxruntime is not installed ({INSTALL})" if fmt == "onnx" else "not checked"
