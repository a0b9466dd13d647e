"""The classifier: a backbone's features and a linear head over every class of the stream."""

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sscl_core.api.backbone import Backbone
from sscl_core.api.components import component
from sscl_core.api.model import Model
from sscl_core.api.task import TaskStream
from sscl_core.classification import PROBLEM


class ClassifierModel(nn.Module):
    """A feature extractor and a linear head over all classes of the stream."""

    def __init__(self, backbone: nn.Module, num_classes: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(int(backbone.out_features), num_classes)

    def features(self, x: Tensor) -> Tensor:
        """Backbone features (N, F)."""
        return self.backbone(x)

    def forward(self, x: Tensor) -> Tensor:
        """Logits over all classes (N, num_classes)."""
        return self.head(self.backbone(x))

    def loss(self, outputs: Tensor, targets: Tensor, reduction: str = "mean") -> Tensor:
        """Cross-entropy of the logits ``outputs`` against the class labels ``targets``."""
        return F.cross_entropy(outputs, targets, reduction=reduction)


@component
class Classifier(Model):
    """The model of classification streams: the run's backbone with a linear head over every class."""

    name = "classifier"
    problems: ClassVar[tuple[str, ...]] = (PROBLEM,)

    def build(self, stream: TaskStream, backbone: Backbone) -> ClassifierModel:
        """The backbone built for the stream's input shape, then the head over its ``num_classes``."""
        return ClassifierModel(backbone.build(stream.input_shape), stream.num_classes)


def masked_logits(logits: Tensor, classes: list[int] | tuple[int, ...]) -> Tensor:
    """``logits`` with every class outside ``classes`` set to -inf (for task-IL and class-IL evaluation)."""
    mask = torch.full((logits.shape[-1],), float("-inf"), device=logits.device, dtype=logits.dtype)
    mask[list(classes)] = 0.0
    return logits + mask
