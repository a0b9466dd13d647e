"""Registers the detection datasets, detectors, evaluator, SoftTeacher and the presets with sscl."""

from importlib.resources import files
from pathlib import Path

from sscl_core import hookimpl
from sscl_plugin_detection.datasets import Coco, Shapes
from sscl_plugin_detection.evaluation import CocoMAP
from sscl_plugin_detection.models import FCOSR50, FasterRCNNMobileNet, FasterRCNNR50, RetinaNetR50, SSDLite
from sscl_plugin_detection.soft_teacher import SoftTeacher
from sscl_plugin_detection.tiny import FasterRCNNTiny


@hookimpl
def register_datasets(register):
    """coco and shapes."""
    register(Coco)
    register(Shapes)


@hookimpl
def register_models(register):
    """The torchvision detectors."""
    for cls in (FasterRCNNMobileNet, FasterRCNNTiny, FasterRCNNR50, RetinaNetR50, FCOSR50, SSDLite):
        register(cls)


@hookimpl
def register_evaluators(register):
    """COCO mAP per task."""
    register(CocoMAP)


@hookimpl
def register_unlabeled_losses(register):
    """soft-teacher."""
    register(SoftTeacher)


@hookimpl
def register_presets(register):
    """shapes-5 and coco-5."""
    for path in sorted(Path(str(files("sscl_plugin_detection") / "presets")).glob("*.yaml")):
        register(path)
