"""Parameter count and multiply-accumulates of a network (torch's FlopCounterMode), for metrics.json and
``sscl describe backbone``."""

import re
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from sscl_core.api.backbone import Backbone, count_parameters
from sscl_core.api.errors import SsclError
from sscl_core.classification.model import ClassifierModel

STANDARD_INPUT_SHAPES: tuple[tuple[int, int, int], ...] = ((1, 8, 8), (1, 28, 28), (3, 32, 32), (3, 64, 64))
"""Input shapes (C, H, W) of the protocols' datasets: digits, (Fashion-)MNIST, CIFAR, TinyImageNet."""


def model_cost(module: nn.Module, input_shape: tuple[int, int, int]) -> dict[str, int]:
    """``{"parameters": ..., "macs": ...}`` of ``module`` for one image of ``input_shape`` (C, H, W): MACs are half the
    FLOPs FlopCounterMode counts in one pass in eval mode, without gradients, changing no training mode or RNG."""
    parameters = count_parameters(module)
    first = next(module.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    images = torch.zeros((1, *input_shape), device=device, dtype=dtype)
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        with (
            torch.random.fork_rng(devices=[device] if device.type == "cuda" else []),
            torch.no_grad(),
            FlopCounterMode(display=False) as counter,
        ):
            module(images)
    finally:
        for submodule, training in modes:
            submodule.training = training
    return {"parameters": int(parameters), "macs": int(counter.get_total_flops()) // 2}


def backbone_costs(
    backbone: Backbone, input_shapes: Iterable[tuple[int, int, int]], num_classes: int
) -> list[dict[str, Any]]:
    """One row per input shape: the cost of ``backbone`` with a linear head over ``num_classes`` classes
    (``parameters``, ``macs``, ``out_features``), or ``refused`` with the backbone's message. Built on the meta
    device (no storage, same counts), or on the CPU when ``build`` cannot run there."""
    rows: list[dict[str, Any]] = []
    for shape in input_shapes:
        try:
            model = _build_classifier(backbone, shape, num_classes)
        except SsclError as error:
            rows.append({"input_shape": shape, "refused": str(error)})
            continue
        measured = model_cost(model, shape)
        rows.append({"input_shape": shape, **measured, "out_features": int(model.backbone.out_features)})
    return rows


def _build_classifier(backbone: Backbone, shape: tuple[int, int, int], num_classes: int) -> ClassifierModel:
    try:
        with torch.device("meta"):
            return ClassifierModel(backbone.build(shape), num_classes)
    except (RuntimeError, NotImplementedError):
        return ClassifierModel(backbone.build(shape), num_classes)


def parse_input_shape(text: str) -> tuple[int, int, int]:
    """``"3x32x32"`` (or ``"3,32,32"``) as ``(3, 32, 32)``; anything else is a one-line ``SsclError``."""
    parts = [p for p in re.split(r"[x,\s]+", text.strip().lower()) if p]
    if len(parts) != 3 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise SsclError(
            f"--input-shape: expected CHANNELSxHEIGHTxWIDTH of positive integers, e.g. 3x32x32, got {text!r}"
        )
    channels, height, width = (int(p) for p in parts)
    return channels, height, width


def format_shape(input_shape: tuple[int, int, int]) -> str:
    """``(3, 32, 32)`` as ``3x32x32``."""
    return "x".join(str(v) for v in input_shape)


def format_macs(macs: int) -> str:
    """MACs in millions with one decimal, e.g. ``555.4 M``."""
    return f"{macs / 1e6:.1f} M"
