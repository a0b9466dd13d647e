"""Training-iteration time of ``fasterrcnn-r50`` under er and er+soft-teacher at COCO-like image sizes
(synthetic images), with and without mixed precision: the issue-18 device check, one short script.

Each iteration is what the trainer runs for the coco-5 protocol: er's loss on 1 labeled image plus 1 replayed
image (two detector calls), for er+soft-teacher also SoftTeacher's teacher pass, jittering and student losses
on 1 unlabeled image (thresholds lowered so the untrained teacher yields boxes, as a trained one would), then
backward and an SGD step. Mixed precision is ``torch.autocast`` (float16) with a gradient scaler. Prints one
Markdown row per setting: median milliseconds over ``--iters`` iterations after ``--warmup``, and the ratio to
er without mixed precision.

    python benchmarks/detection_gpu_timing.py [--device cuda] [--model fasterrcnn-r50] [--iters 20]
"""

from __future__ import annotations

import argparse
import statistics
import time
from types import SimpleNamespace

import torch

from sscl_core.api.batch import SemiBatch
from sscl_core.plugins.registry import load_registry
from sscl_plugin_detection.views import DetectionViews


def main() -> None:
    """Time every setting and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--model", default="fasterrcnn-r50", help="detector component (a smaller one for a CPU check)")
    parser.add_argument("--height", type=int, default=800)
    parser.add_argument("--width", type=int, default=1216)
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    device = torch.device(args.device)
    registry = load_registry()
    gen = torch.Generator().manual_seed(0)
    views = DetectionViews(scale_range=(0.625, 1.0))
    images = [torch.randint(0, 256, (3, args.height, args.width), dtype=torch.uint8, generator=gen) for _ in range(3)]
    target = {
        "boxes": torch.tensor([[100.0, 120.0, 400.0, 500.0], [600.0, 200.0, 900.0, 420.0]]),
        "labels": torch.tensor([1, 2]),
        "iscrowd": torch.tensor([False, False]),
    }
    rows, reference = [], None
    for method in ("er", "er+soft-teacher"):
        for amp in (False, True):
            torch.manual_seed(0)
            model = registry.create("model", {"name": args.model}).build(SimpleNamespace(num_classes=81), None)
            model = model.to(device).train()
            optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
            scaler = torch.amp.GradScaler(device.type, enabled=amp)
            loss = None
            if method != "er":
                settings = {"score_threshold": 0.05, "cls_threshold": 0.1}
                loss = registry.create("unlabeled_loss", {"name": "soft-teacher", **settings})
                loss.before_run(SimpleNamespace(model=model))
            times = []
            for k in range(args.warmup + args.iters):
                start = time.perf_counter()
                on_device = [image.to(device) for image in images]
                with torch.autocast(device.type, dtype=torch.float16, enabled=amp):
                    labeled, replayed = views.weak(on_device[:1], gen), views.weak(on_device[1:2], gen)
                    total = model.loss(labeled, [target]) + model.loss(replayed, [target])
                    if loss is not None:
                        batch = SemiBatch(
                            x=None,
                            y=None,
                            index=None,
                            task_id=0,
                            x_raw=None,
                            u_weak=views.weak(on_device[2:], gen),
                            u_strong=views.strong(on_device[2:], gen),
                        )
                        total = total + 4.0 * sum(
                            loss.losses(batch, SimpleNamespace(model=model, generator=gen)).values()
                        )
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(total).backward()
                scaler.step(optimizer)
                scaler.update()
                if loss is not None:
                    loss.after_iter(SimpleNamespace(model=model))
                if device.type == "cuda":
                    torch.cuda.synchronize()
                if k >= args.warmup:
                    times.append(time.perf_counter() - start)
            median = 1000 * statistics.median(times)
            reference = reference or median
            rows.append(
                f"| {method} | {'fp16 autocast' if amp else 'fp32'} | {median:.1f} | {median / reference:.2f} |"
            )
    print(f"{args.model}, {args.height}x{args.width} synthetic images, {device}")
    print("| method | precision | median iteration (ms) | ratio to er fp32 |\n|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
