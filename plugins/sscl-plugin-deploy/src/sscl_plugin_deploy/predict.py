"""``sscl predict``: the top classes of image files, with probabilities, from a run's checkpoint.

Files are decoded and fitted to the stream's input shape by the image-folder dataset's own functions
(:mod:`sscl_plugin_datasets.image_decode`), so a file gives the pixels it would give as part of a dataset.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

from sscl_core import SsclError
from sscl_plugin_datasets.image_decode import PIL_MODES, UnreadableImage, fit, read_image
from sscl_plugin_datasets.image_files import IMAGE_SUFFIXES, FolderProblem, images_under
from sscl_plugin_deploy.restore import RestoredRun

Prediction = list[tuple[str, float]]
"""An image's top classes: (class name, probability), most probable first."""


def image_files(paths: Sequence[str | Path]) -> list[Path]:
    """The files named, with every image under the folders named (sorted); refused in one line if one is
    missing or a folder holds no image."""
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            try:
                found = images_under(path, "predict")
            except FolderProblem as error:
                raise SsclError(str(error)) from None
            if not found:
                raise SsclError(f"{path}: the folder holds no image ({', '.join(IMAGE_SUFFIXES)})")
            files += [Path(f) for f in found]
        elif path.is_file():
            files.append(path)
        else:
            raise SsclError(f"{path}: no such image file or folder: check the path")
    return files


def load_images(files: Sequence[Path], input_shape: tuple[int, int, int]) -> Tensor:
    """The files as one uint8 batch (N, C, H, W) of the stream's ``input_shape``: decoded to C channels, resized
    and centre-cropped as the image-folder dataset does."""
    channels, height, width = input_shape
    if channels not in PIL_MODES:
        raise SsclError(f"predict reads grey or RGB images, but the run's images have {channels} channels")
    images = []
    for path in files:
        try:
            images.append(fit(read_image(path, channels), (height, width)))
        except UnreadableImage as error:
            raise SsclError(f"{path} {error}: give PNG, JPEG, BMP or WebP files") from None
        except OSError as error:
            raise SsclError(f"{path}: cannot be read ({error.strerror or error})") from None
    return torch.stack(images)


def predict(run: RestoredRun, images: Tensor, top_k: int) -> list[Prediction]:
    """The ``top_k`` (at least 1) most probable classes (among those learned) of each uint8 image, by the run's
    eval outputs."""
    probs = torch.softmax(run.framework_outputs(images), dim=1)
    values, indices = probs.topk(min(top_k, len(run.seen_classes)), dim=1)
    names = run.class_names
    return [
        [(names[i], float(p)) for p, i in zip(row_p.tolist(), row_i.tolist(), strict=True)]
        for row_p, row_i in zip(values, indices, strict=True)
    ]
