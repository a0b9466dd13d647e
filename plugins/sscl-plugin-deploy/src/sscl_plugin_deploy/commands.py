"""The ``sscl export`` and ``sscl predict`` commands: their arguments and what they print."""

from __future__ import annotations

import argparse
from pathlib import Path

from sscl_core import Command, SsclError
from sscl_core.plugins.registry import Registry
from sscl_plugin_deploy.export import SUFFIXES, default_out, export_run, not_checked_note
from sscl_plugin_deploy.predict import image_files, load_images, predict
from sscl_plugin_deploy.restore import restore_run

DEFAULT_CHECK_IMAGES = 512
"""Test images ``sscl export`` checks the written file on, by default."""
DEFAULT_TOLERANCE = 1e-4
"""Largest difference to the framework's eval outputs ``sscl export`` accepts, by default."""


def _add_task_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", type=int, metavar="N", help="the model after task N (1-based; default: the last)")


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``sscl export``."""
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run directory (sscl run prints it)")
    _add_task_argument(parser)
    parser.add_argument("--format", choices=tuple(SUFFIXES), default="torchscript", help="default: torchscript")
    parser.add_argument("--out", type=Path, metavar="FILE", help="default: RUN_DIR/export/model-after-task-N.pt|.onnx")
    parser.add_argument(
        "--check-images",
        type=int,
        default=DEFAULT_CHECK_IMAGES,
        metavar="K",
        help=f"test images the file is checked on (default {DEFAULT_CHECK_IMAGES})",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=DEFAULT_TOLERANCE,
        help=f"largest accepted difference to the eval outputs; exit code 1 above it (default {DEFAULT_TOLERANCE})",
    )


def run_export_command(args: argparse.Namespace, registry: Registry) -> int:
    """Export, check and print where the files went and the largest difference."""
    if args.check_images < 1:
        raise SsclError(f"--check-images must be at least 1, got {args.check_images}")
    if args.out is not None and args.out.suffix == ".json":
        raise SsclError(f"--out {args.out}: that is where the class names go; give a {SUFFIXES[args.format]} file")
    run = restore_run(args.run_dir, args.task, registry)
    out = args.out or default_out(run, args.format)
    result = export_run(run, args.format, out, args.check_images)
    print(f"exported the model after task {run.tasks_done} as {args.format}: {result.file}")
    print(f"class names and input layout: {result.classes_file}")
    if result.max_abs_difference is None:
        print(not_checked_note(args.format))
        return 0
    print(
        f"checked on {result.checked_images} test images: max abs difference to the framework's eval outputs "
        f"{result.max_abs_difference:.3g}, same top class for {100 * result.agreement:.1f}%"
    )
    if result.max_abs_difference > args.tolerance:
        print(f"the difference is above --tolerance {args.tolerance:g}: do not deploy this file as it is")
        return 1
    return 0


def add_predict_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``sscl predict``."""
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run directory (sscl run prints it)")
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders of them")
    parser.add_argument("--top-k", type=int, default=3, metavar="K", help="classes shown per image (default 3)")
    _add_task_argument(parser)


def run_predict_command(args: argparse.Namespace, registry: Registry) -> int:
    """One line per image: its top classes with their probabilities."""
    if args.top_k < 1:
        raise SsclError(f"--top-k must be at least 1, got {args.top_k}")
    files = image_files(args.images)
    run = restore_run(args.run_dir, args.task, registry)
    images = load_images(files, run.ctx.stream.input_shape)
    for path, top in zip(files, predict(run, images, args.top_k), strict=True):
        print(f"{path}: " + ", ".join(f"{name} ({100 * p:.2f}%)" for name, p in top))
    return 0


EXPORT = Command(
    name="export",
    help="a run's model as TorchScript or ONNX, preprocessing folded in, checked against its eval outputs",
    add_arguments=add_export_arguments,
    run=run_export_command,
)
PREDICT = Command(
    name="predict",
    help="the top classes of image files, with probabilities, from a run's checkpoint",
    add_arguments=add_predict_arguments,
    run=run_predict_command,
)
