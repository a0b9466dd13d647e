"""The base class of this plugin's backbones: it declares and checks the input sizes a backbone supports."""

from __future__ import annotations

from typing import ClassVar

from torch import nn

from sscl_core import Backbone, SsclError, component
from sscl_plugin_backbones.pretrained import torchvision_note

STANDARD_SIZES: tuple[int, ...] = (8, 28, 32, 64)
"""Image sizes of the protocols (digits 8 px, Fashion-MNIST 28 px, CIFAR 32 px, TinyImageNet 64 px)."""

STANDARD_CHANNELS: tuple[int, ...] = (1, 3)
"""Channel counts of the protocols (grey and colour)."""


@component
class SizedBackbone(Backbone):
    """A backbone that accepts square or rectangular images of at least ``min_size`` pixels a side.

    Subclasses set ``name`` and ``min_size`` and implement ``create(input_shape)``; ``build`` checks the
    shape first and refuses one that is too small with a single-line ``SsclError``. Every network built
    maps images (N, C, H, W) to features (N, out_features) and has the integer attribute ``out_features``:
    that output is the one way methods reach the features (``sscl_core.ClassifierModel.features``).
    """

    min_size: ClassVar[int] = 8
    """Smallest image side (pixels) the backbone accepts."""
    torchvision_arch: ClassVar[str | None] = None
    """The torchvision model the backbone adapts (e.g. ``resnet18``), whose weights files ``sscl describe`` checks."""

    @classmethod
    def weights_note(cls) -> str:
        """Whether torchvision's weights files of ``torchvision_arch`` fit (compared offline), or nothing."""
        return torchvision_note(cls(), cls.torchvision_arch) if cls.torchvision_arch else ""

    @classmethod
    def claimed_sizes(cls) -> tuple[int, ...]:
        """The standard sizes this backbone supports (and is tested at)."""
        return tuple(size for size in STANDARD_SIZES if size >= cls.min_size)

    def check_input_shape(self, input_shape: tuple[int, int, int]) -> None:
        """Raise ``SsclError`` unless ``input_shape`` is (C, H, W) with C >= 1 and H, W >= ``min_size``."""
        if len(input_shape) != 3 or min(input_shape) < 1:
            raise SsclError(
                f"backbone '{self.name}': expected an input shape (channels, height, width), got {input_shape}"
            )
        _channels, height, width = input_shape
        if min(height, width) < self.min_size:
            raise SsclError(
                f"backbone '{self.name}' needs images of at least {self.min_size}x{self.min_size} pixels, "
                f"got {height}x{width}: choose another backbone or a dataset with larger images"
            )

    def build(self, input_shape: tuple[int, int, int]) -> nn.Module:
        """A freshly initialized feature extractor for images of ``input_shape`` (C, H, W)."""
        shape = tuple(int(v) for v in input_shape)
        self.check_input_shape(shape)
        network = self.create(shape)
        if not isinstance(getattr(network, "out_features", None), int):
            raise TypeError(f"backbone '{self.name}' built a network without an integer 'out_features'")
        return network

    def create(self, input_shape: tuple[int, int, int]) -> nn.Module:
        """Build the network for a checked ``input_shape``; subclasses implement this."""
        raise NotImplementedError
