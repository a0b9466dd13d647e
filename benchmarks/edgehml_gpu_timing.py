"""EdgeHML against der+fixmatch on a GPU, in float32 and in bfloat16 mixed precision: the issue-17 device check.

Writes a synthetic CIFAR-10 folder (random uint8 images in the real file format), then runs the cifar10-5
protocol's der+fixmatch and ``edgehml-cifar10-5`` (resnet18 at 32 px, B 8, mu 7) one after the other in one
process, first both in float32, then both in bfloat16, ``--tasks`` tasks of ``--iters`` iterations each. Mixed
precision is the whole run under ``torch.autocast(device, torch.bfloat16)``; bfloat16 keeps float32's exponent,
so no gradient scaler is needed. Prints one Markdown row per setting from each run's metrics.json: median
iteration and total train time, and their ratios to der+fixmatch of the same precision and to the same
method in float32.

    python benchmarks/edgehml_gpu_timing.py [--device cuda] [--iters 300] [--tasks 2] [--out DIR]
"""

import argparse
import contextlib
import json
import tempfile
from pathlib import Path

import torch

from sscl_core.config.run_config import load_config
from sscl_core.plugins.registry import load_registry
from sscl_core.run.trainer import Trainer
from sscl_plugin_datasets.cifar_writer import write_cifar10

SETTINGS = (("der+fixmatch", "cifar10-5"), ("edgehml", "edgehml-cifar10-5"))
"""Each method and the preset it runs from."""


def synthetic_cifar10(root: Path, per_class: int) -> Path:
    """``per_class`` random training images and a fifth as many test images of each of 10 classes, as CIFAR-10."""
    gen = torch.Generator().manual_seed(0)
    train_y = torch.arange(10).repeat_interleave(per_class)
    test_y = torch.arange(10).repeat_interleave(max(1, per_class // 5))
    train_x = torch.randint(0, 256, (len(train_y), 3, 32, 32), dtype=torch.uint8, generator=gen)
    test_x = torch.randint(0, 256, (len(test_y), 3, 32, 32), dtype=torch.uint8, generator=gen)
    return write_cifar10(root, train_x, train_y, test_x, test_y)


def timed_run(method: str, preset: str, bf16: bool, args: argparse.Namespace, root: Path, out: Path) -> dict:
    """One run's timing block (metrics.json), under bfloat16 autocast when ``bf16``."""
    registry = load_registry()
    overrides = [
        f"dataset.root={root}",
        f"dataset.num_tasks={args.tasks}",
        f"train.iters_per_task={args.iters}",
        f"device={args.device}",
        f"output_dir={out}",
        f"run_name={method}-{'bf16' if bf16 else 'fp32'}",
        *args.overrides,
    ]
    config = load_config(registry.preset(preset), overrides, {"method": method})
    autocast = (
        torch.autocast(torch.device(args.device).type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    )
    with autocast:
        result = Trainer(config, registry).run()
    return result.metrics["timing"]


def main() -> None:
    """Run every setting and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--iters", type=int, default=300, help="iterations per task")
    parser.add_argument("--tasks", type=int, default=2)
    parser.add_argument("--per-class", type=int, default=500, help="synthetic training images per class")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a setting of every run (e.g. backbone.name=small-cnn for a quick CPU check)",
    )
    parser.add_argument("--out", type=Path, default=None, help="folder for the data and the runs (default: temporary)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        root = synthetic_cifar10(out / "data", args.per_class)
        timing = {}
        for bf16 in (False, True):
            for method, preset in SETTINGS:
                timing[method, bf16] = timed_run(method, preset, bf16, args, root, out / "runs")
        print(f"device: {torch.cuda.get_device_name() if torch.cuda.is_available() else args.device}")
        print(
            "| method | precision | median iteration (ms) | train (s) | iteration / der+fixmatch "
            "| train / der+fixmatch | iteration / same method fp32 |"
        )
        print("|---|---|---|---|---|---|---|")
        for (method, bf16), t in timing.items():
            base, fp32 = timing["der+fixmatch", bf16], timing[method, False]
            median = t["median_iteration_seconds"]
            print(
                f"| {method} | {'bf16' if bf16 else 'fp32'} | {1000 * median:.1f} | {t['total_train_seconds']:.1f} "
                f"| {median / base['median_iteration_seconds']:.2f} "
                f"| {t['total_train_seconds'] / base['total_train_seconds']:.2f} "
                f"| {median / fp32['median_iteration_seconds']:.2f} |"
            )
        (out / "timing.json").write_text(
            json.dumps({f"{m}-{'bf16' if b else 'fp32'}": t for (m, b), t in timing.items()})
        )


if __name__ == "__main__":
    main()
