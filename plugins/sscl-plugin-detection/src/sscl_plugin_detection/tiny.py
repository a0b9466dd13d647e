"""``fasterrcnn-tiny``: an edge-sized Faster R-CNN that learns from scratch on a CPU in minutes.

torchvision's ``FasterRCNN`` with a plain convolutional backbone of a few 3x3 conv + BatchNorm + ReLU layers
(one feature map, stride ``2 ** stages``), anchors sized for small images, RoI-aligned 4x4 features (one sample
per bin) and a small two-layer box head. It keeps every part SoftTeacher drives (``rpn``, ``roi_heads`` with
``box_roi_pool``, ``box_head``, ``box_predictor``, ``box_coder``), so background weighting and box jittering
apply to it as to ``fasterrcnn-mobilenet``.
"""

from __future__ import annotations

from typing import Any

import attrs
from torch import nn
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.ops import MultiScaleRoIAlign

from sscl_core import component, param
from sscl_plugin_detection.models import FasterRCNNMobileNet


def _sizes(_instance: Any, attribute: Any, value: Any) -> None:
    numbers = isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) for v in value)
    if not (numbers and value and all(v > 0 for v in value)):
        raise ValueError(f"{attribute.name} must be a non-empty list of positive numbers, got {value!r}")


class ConvBackbone(nn.Sequential):
    """``stages`` stages of two 3x3 conv + BatchNorm + ReLU layers, the first of each with stride 2; the width
    doubles at every stage after the first. ``out_channels`` is what torchvision's detectors read."""

    def __init__(self, width: int, stages: int) -> None:
        layers: list[nn.Module] = []
        channels = 3
        for stage in range(stages):
            out = width * 2**stage
            for stride in (2, 1):
                layers += [nn.Conv2d(channels, out, 3, stride, 1, bias=False), nn.BatchNorm2d(out), nn.ReLU(True)]
                channels = out
        super().__init__(*layers)
        self.out_channels = channels


@component
class FasterRCNNTiny(FasterRCNNMobileNet):
    """Faster R-CNN on a small plain conv backbone (one feature map), for from-scratch training on CPUs."""

    name = "fasterrcnn-tiny"
    width: int = param(
        16, help="channels of the first backbone stage (doubled per stage)", validator=attrs.validators.ge(1)
    )
    stages: int = param(3, help="backbone stages (each halves the resolution)", validator=attrs.validators.ge(1))
    anchor_sizes: list[float] = param([8, 16, 32], help="anchor sides in pixels", validator=_sizes)
    aspect_ratios: list[float] = param([0.5, 1.0, 2.0], help="anchor height/width ratios", validator=_sizes)
    roi_size: int = param(4, help="side of the RoI-aligned feature grid", validator=attrs.validators.ge(1))
    sampling_ratio: int = param(
        1, help="RoIAlign samples per bin side (its CPU backward dominates a step)", validator=attrs.validators.ge(1)
    )
    head_size: int = param(128, help="width of the two-layer box head", validator=attrs.validators.ge(1))
    rpn_pre_nms_test: int = param(150, help="RPN proposals before NMS at test", validator=attrs.validators.ge(1))
    rpn_post_nms_test: int = param(50, help="RPN proposals after NMS at test", validator=attrs.validators.ge(1))
    rpn_pre_nms_train: int = param(150, help="RPN proposals before NMS in training", validator=attrs.validators.ge(1))
    rpn_post_nms_train: int = param(50, help="RPN proposals after NMS in training", validator=attrs.validators.ge(1))
    rpn_batch: int = param(64, help="anchors sampled per image for the RPN loss", validator=attrs.validators.ge(1))
    box_batch: int = param(32, help="proposals sampled per image for the RoI loss", validator=attrs.validators.ge(1))

    def detector(self, num_classes: int) -> nn.Module:
        """torchvision's FasterRCNN on :class:`ConvBackbone`."""
        backbone = ConvBackbone(self.width, self.stages)
        anchors = AnchorGenerator((tuple(self.anchor_sizes),), (tuple(self.aspect_ratios),))
        pool = MultiScaleRoIAlign(["0"], output_size=self.roi_size, sampling_ratio=self.sampling_ratio)
        head = TwoMLPHead(backbone.out_channels * self.roi_size**2, self.head_size)
        return FasterRCNN(
            backbone,
            rpn_anchor_generator=anchors,
            box_roi_pool=pool,
            box_head=head,
            box_predictor=FastRCNNPredictor(self.head_size, num_classes),
            **self.kwargs(),
        )
