"""The network of progressive neural networks: one column per task, lateral adapters from earlier columns."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn


class LateralAdapter(nn.Module):
    """The non-linear lateral connection of PNN from an earlier column's features to a later column's logits:
    ``U(relu(V(scale * h)))`` with a learned scalar ``scale``."""

    def __init__(self, in_features: int, width: int, num_classes: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.reduce = nn.Linear(in_features, width)
        self.expand = nn.Linear(width, num_classes)

    def forward(self, features: Tensor) -> Tensor:
        """This connection's contribution to the logits."""
        return self.expand(torch.relu(self.reduce(self.scale * features)))


class Column(nn.Module):
    """One column: a feature extractor, a head over all classes and adapters from every earlier column."""

    def __init__(self, backbone: nn.Module, num_classes: int, earlier: list[int], adapter_width: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(int(backbone.out_features), num_classes)
        self.laterals = nn.ModuleList(
            LateralAdapter(features, adapter_width, num_classes) for features in earlier if adapter_width > 0
        )

    def forward(self, x: Tensor, earlier_features: list[Tensor]) -> tuple[Tensor, Tensor]:
        """(features, logits) of this column given the features of the earlier columns."""
        features = self.backbone(x)
        logits = self.head(features)
        for adapter, h in zip(self.laterals, earlier_features, strict=False):
            logits = logits + adapter(h)
        return features, logits


class ProgressiveNetwork(nn.Module):
    """Columns added one per task; every column but the last is frozen, parameters and BatchNorm statistics.

    Column k sees the input and, through lateral adapters, the features of columns 0..k-1 (the laterals join
    at the feature level, since backbones expose only their ``features`` output). ``forward`` gives the last
    column's logits; :meth:`column_logits` the logits of any column.
    """

    def __init__(self, build_backbone: Callable[[], nn.Module], num_classes: int, adapter_width: int) -> None:
        super().__init__()
        self.build_backbone = build_backbone
        self.num_classes = num_classes
        self.adapter_width = adapter_width
        self.columns = nn.ModuleList()

    def add_column(self) -> Column:
        """Freeze every column so far and append a fresh, trainable one."""
        for column in self.columns:
            column.requires_grad_(False)
            column.eval()
        earlier = [int(column.backbone.out_features) for column in self.columns]
        column = Column(self.build_backbone(), self.num_classes, earlier, self.adapter_width)
        self.columns.append(column)
        return column

    def train(self, mode: bool = True) -> ProgressiveNetwork:
        """Set the training mode of the last column only; frozen columns stay in eval mode."""
        self.training = mode
        for column in self.columns[:-1]:
            column.eval()
        if len(self.columns):
            self.columns[-1].train(mode)
        return self

    def all_column_logits(self, x: Tensor, upto: int) -> list[Tensor]:
        """Logits of columns 0..upto, each fed the features of the columns before it."""
        features: list[Tensor] = []
        logits: list[Tensor] = []
        for k, column in enumerate(self.columns[: upto + 1]):
            frozen = k < len(self.columns) - 1
            with torch.set_grad_enabled(torch.is_grad_enabled() and not frozen):
                h, out = column(x, features)
            features.append(h)
            logits.append(out)
        return logits

    def column_logits(self, x: Tensor, index: int) -> Tensor:
        """Logits of column ``index``."""
        return self.all_column_logits(x, index)[-1]

    def features(self, x: Tensor) -> Tensor:
        """Features of the last column."""
        return self.columns[-1].backbone(x)

    def forward(self, x: Tensor) -> Tensor:
        """Logits of the last column."""
        return self.column_logits(x, len(self.columns) - 1)
