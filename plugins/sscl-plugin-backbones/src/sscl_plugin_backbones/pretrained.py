"""Which of torchvision's pretrained weights files fit a backbone, found by comparing the two layouts offline.

The torchvision network (``weights=None``) and the backbone are built on the meta device, so nothing is
downloaded or allocated; their state dicts are matched the way ``backbone.weights`` would load the file
(:mod:`sscl_core.api.weights`).
"""

from __future__ import annotations

import warnings

import torch
from torchvision.models import get_model, get_model_weights

from sscl_core import Backbone
from sscl_core.api.weights import best_prefix, fitting_keys

RGB_SHAPE = (3, 32, 32)
"""The input the layouts are compared at: torchvision's files are for RGB images."""


def torchvision_files(arch: str) -> str:
    """torchvision's weights of ``arch`` as enum members with their file names, e.g.
    ``ResNet18_Weights.IMAGENET1K_V1 (resnet18-f37072fd.pth)``."""
    enum = get_model_weights(arch)
    return ", ".join(f"{enum.__name__}.{w.name} ({w.url.rsplit('/', 1)[-1]})" for w in enum)


def torchvision_note(backbone: Backbone, arch: str) -> str:
    """Whether torchvision's ``arch`` files load into ``backbone`` as they are, and if not, the first keys that
    differ."""
    with torch.device("meta"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = backbone.build(RGB_SHAPE).state_dict()
        theirs = get_model(arch, weights=None).state_dict()
    loaded, mismatches = fitting_keys(ours, theirs, best_prefix(ours, theirs, None))
    files = torchvision_files(arch)
    if not mismatches:
        return (
            f"torchvision's {files} fit (RGB input; their classifier is skipped): backbone.weights=FILE; "
            "files saved from this backbone fit too"
        )
    return (
        f"torchvision's {files} do not load as they are: {len(mismatches)} of {len(ours)} tensors differ, e.g. "
        f"{'; '.join(mismatches[:2])} (this backbone is adapted to small images); files saved from this backbone, "
        "or self-supervised checkpoints of the same small-image variant, fit"
    )
