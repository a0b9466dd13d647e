"""Parameter count and multiply-accumulates of a network, measured with torch's own FLOP counter."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def cost(module: nn.Module, input_shape: tuple[int, int, int]) -> dict[str, int]:
    """``{"parameters": ..., "macs": ...}`` of ``module`` for one image of ``input_shape`` (C, H, W).

    MACs are half the FLOPs that ``torch.utils.flop_counter.FlopCounterMode`` counts for one forward pass
    (convolutions and matrix products; normalization, activations and pooling count as zero). The pass runs
    in eval mode without gradients; the module's training mode is restored afterwards.
    """
    parameters = sum(p.numel() for p in module.parameters())
    first = next(module.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    images = torch.zeros((1, *input_shape), device=device)
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            module(images)
    finally:
        module.train(was_training)
    return {"parameters": int(parameters), "macs": int(counter.get_total_flops()) // 2}
