"""Decoding one image file to a uint8 (C, H, W) tensor of a fixed channel count and, optionally, a fixed size.

PNG, JPEG and WebP go through torchvision.io; anything it cannot read (BMP, unusual PNGs) through PIL. A file
neither can read raises :class:`UnreadableImage` with the reason.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy
import torch
import torchvision.transforms.v2.functional as TF
from PIL import Image
from torch import Tensor
from torchvision.io import ImageReadMode, decode_image, read_file

from sscl_plugin_datasets.tinyimagenet import TORCHVISION_IO_DEPRECATION

READ_MODES = {1: ImageReadMode.GRAY, 3: ImageReadMode.RGB}
"""torchvision's read mode for each supported channel count."""

PIL_MODES = {1: "L", 3: "RGB"}
"""PIL's mode for each supported channel count."""


class UnreadableImage(Exception):
    """The file is not an image torchvision or PIL can decode; the message says why (without the path)."""


def read_image(path: str | Path, channels: int) -> Tensor:
    """The image in ``path`` as uint8 (channels, H, W): grey for 1 channel, RGB for 3."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=TORCHVISION_IO_DEPRECATION, category=DeprecationWarning)
            return decode_image(read_file(str(path)), mode=READ_MODES[channels])
    except (RuntimeError, ValueError, OSError) as torchvision_error:
        first = torchvision_error
    try:
        with Image.open(path) as image:
            pixels = numpy.asarray(image.convert(PIL_MODES[channels]))
    except (OSError, ValueError, Image.DecompressionBombError) as pil_error:
        reason = " ".join(str(pil_error or first).split())[:160]
        raise UnreadableImage(f"is not a readable image ({reason})") from None
    tensor = torch.from_numpy(pixels.copy())
    return tensor.unsqueeze(0) if channels == 1 else tensor.permute(2, 0, 1).contiguous()


def fit(image: Tensor, size: tuple[int, int]) -> Tensor:
    """Resize ``image`` (antialiased bilinear, keeping its aspect ratio) until it covers ``size`` (height, width),
    then crop the centre; an image of that size already is returned as it is."""
    height, width = image.shape[1:]
    if (height, width) == size:
        return image
    scale = max(size[0] / height, size[1] / width)
    covering = [max(size[0], round(height * scale)), max(size[1], round(width * scale))]
    return TF.center_crop(TF.resize(image, covering, antialias=True), list(size)).contiguous()
