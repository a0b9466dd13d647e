"""The detector components: torchvision detectors built from scratch (``weights=None, weights_backbone=None``:
nothing is ever downloaded), with ``num_classes`` = the stream's categories + background, and an optional
local weights file loaded with ``weights_only``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import attrs
import torch
from torch import nn
from torchvision.models import detection

from sscl_core import Model, SsclError, TaskStream, component, param
from sscl_plugin_detection import PROBLEM
from sscl_plugin_detection.network import DetectionNetwork, KeepSize


@component
class Detector(Model):
    """Base class of the detector components: builds the torchvision detector and wraps it."""

    name = "detector"
    problems: ClassVar[tuple[str, ...]] = (PROBLEM,)
    uses_backbone: ClassVar[bool] = False
    keeps_size: ClassVar[bool] = True
    detections_per_image: int = param(100, help="most detections per image", validator=attrs.validators.ge(1))
    weights: str | None = param(None, help="optional local state_dict file of the detector (loaded weights_only)")

    def detector(self, num_classes: int) -> nn.Module:
        """The torchvision detector for ``num_classes`` classes (background included)."""
        raise NotImplementedError

    def build(self, stream: TaskStream, backbone: Any) -> DetectionNetwork:
        """The detector for the stream's categories, without torchvision's resize (the views set the size)."""
        model = self.detector(stream.num_classes)
        if self.keeps_size:
            old = model.transform
            model.transform = KeepSize(1, 1, old.image_mean, old.image_std, size_divisible=old.size_divisible)
        if self.weights is not None:
            path = Path(self.weights).expanduser()
            try:
                state = torch.load(path, map_location="cpu", weights_only=True)
                model.load_state_dict(state.get("model", state) if isinstance(state, dict) else state)
            except (OSError, RuntimeError, ValueError, AttributeError) as error:
                detail = str(error).strip().splitlines()[0][:120] if str(error).strip() else type(error).__name__
                raise SsclError(f"model '{self.name}': {path}: not a state_dict of this detector ({detail})") from None
        return DetectionNetwork(model)


@component
class FasterRCNNMobileNet(Detector):
    """Faster R-CNN on a MobileNetV3-Large FPN, with small RPN and RoI sampling for CPU training."""

    name = "fasterrcnn-mobilenet"
    rpn_pre_nms_train: int = param(300, help="RPN proposals before NMS in training", validator=attrs.validators.ge(1))
    rpn_post_nms_train: int = param(100, help="RPN proposals after NMS in training", validator=attrs.validators.ge(1))
    rpn_pre_nms_test: int = param(300, help="RPN proposals before NMS at test", validator=attrs.validators.ge(1))
    rpn_post_nms_test: int = param(100, help="RPN proposals after NMS at test", validator=attrs.validators.ge(1))
    rpn_batch: int = param(64, help="anchors sampled per image for the RPN loss", validator=attrs.validators.ge(1))
    box_batch: int = param(64, help="proposals sampled per image for the RoI loss", validator=attrs.validators.ge(1))

    def kwargs(self) -> dict[str, Any]:
        """The sampling settings as torchvision names them."""
        return {
            "rpn_pre_nms_top_n_train": self.rpn_pre_nms_train,
            "rpn_post_nms_top_n_train": self.rpn_post_nms_train,
            "rpn_pre_nms_top_n_test": self.rpn_pre_nms_test,
            "rpn_post_nms_top_n_test": self.rpn_post_nms_test,
            "rpn_batch_size_per_image": self.rpn_batch,
            "box_batch_size_per_image": self.box_batch,
            "box_detections_per_img": self.detections_per_image,
        }

    def detector(self, num_classes: int) -> nn.Module:
        """torchvision's fasterrcnn_mobilenet_v3_large_fpn."""
        return detection.fasterrcnn_mobilenet_v3_large_fpn(
            weights=None, weights_backbone=None, num_classes=num_classes, **self.kwargs()
        )


@component
class FasterRCNNR50(FasterRCNNMobileNet):
    """Faster R-CNN on a ResNet-50 FPN (torchvision's defaults for the sampling: 2000/1000 proposals, 256/512)."""

    name = "fasterrcnn-r50"
    rpn_pre_nms_train: int = param(2000, help="RPN proposals before NMS in training", validator=attrs.validators.ge(1))
    rpn_post_nms_train: int = param(2000, help="RPN proposals after NMS in training", validator=attrs.validators.ge(1))
    rpn_pre_nms_test: int = param(1000, help="RPN proposals before NMS at test", validator=attrs.validators.ge(1))
    rpn_post_nms_test: int = param(1000, help="RPN proposals after NMS at test", validator=attrs.validators.ge(1))
    rpn_batch: int = param(256, help="anchors sampled per image for the RPN loss", validator=attrs.validators.ge(1))
    box_batch: int = param(512, help="proposals sampled per image for the RoI loss", validator=attrs.validators.ge(1))

    def detector(self, num_classes: int) -> nn.Module:
        """torchvision's fasterrcnn_resnet50_fpn."""
        return detection.fasterrcnn_resnet50_fpn(
            weights=None, weights_backbone=None, num_classes=num_classes, **self.kwargs()
        )


@component
class RetinaNetR50(Detector):
    """RetinaNet on a ResNet-50 FPN."""

    name = "retinanet-r50"

    def detector(self, num_classes: int) -> nn.Module:
        """torchvision's retinanet_resnet50_fpn."""
        return detection.retinanet_resnet50_fpn(
            weights=None, weights_backbone=None, num_classes=num_classes, detections_per_img=self.detections_per_image
        )


@component
class FCOSR50(Detector):
    """FCOS on a ResNet-50 FPN."""

    name = "fcos-r50"

    def detector(self, num_classes: int) -> nn.Module:
        """torchvision's fcos_resnet50_fpn."""
        return detection.fcos_resnet50_fpn(
            weights=None, weights_backbone=None, num_classes=num_classes, detections_per_img=self.detections_per_image
        )


@component
class SSDLite(Detector):
    """SSDLite on MobileNetV3-Large; it keeps torchvision's fixed 320x320 input resize (boxes come back in view
    coordinates)."""

    name = "ssdlite"
    keeps_size: ClassVar[bool] = False

    def detector(self, num_classes: int) -> nn.Module:
        """torchvision's ssdlite320_mobilenet_v3_large."""
        return detection.ssdlite320_mobilenet_v3_large(
            weights=None, weights_backbone=None, num_classes=num_classes, detections_per_img=self.detections_per_image
        )
