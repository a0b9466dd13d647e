"""Time the reads of an image-folder stream: a batch of random rows, and a sweep over a task's test images.

``python benchmarks/image_folder_read_time.py ROOT CACHE [--batch 64] [--batches 2000]`` builds the stream of the
image folder ROOT (cache in CACHE; reused when it is there, e.g. after ``benchmarks/image_folder_memory.py DIR``:
ROOT is ``DIR/images``, CACHE ``DIR/cache``), then times, on one thread, ``take(task.train_x, index)`` (what
the batch builder does) for random batches of the first task, and the test view of its test images in slices of
256 (what the evaluator does). Prints JSON (microseconds per batch: the mean of the first 100, then the median
and mean of the rest; milliseconds per sweep). It uses only what every release has, so it times the reader of
whichever sscl is installed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from sscl_core.api.samples import take
from sscl_plugin_datasets.image_folder import ImageFolder

WARM_BATCHES = 100
"""Batches timed apart first (the pages they touch may not be in memory yet)."""

SWEEP_ROWS = 256
"""Test images per slice of the sweep."""


def batch_seconds(task: object, size: int, count: int, generator: torch.Generator) -> list[float]:
    """Seconds of each of ``count`` reads of ``size`` random training images of ``task``."""
    times = []
    for _ in range(count):
        index = torch.randint(len(task), (size,), generator=generator)
        start = time.perf_counter()
        take(task.train_x, index)
        times.append(time.perf_counter() - start)
    return times


def sweep_seconds(stream: object, task: object) -> float:
    """Seconds of the test view of ``task``'s test images, read slice by slice."""
    start = time.perf_counter()
    for first in range(0, len(task.test_x), SWEEP_ROWS):
        stream.transforms.test(task.test_x[first : first + SWEEP_ROWS])
    return time.perf_counter() - start


def main() -> int:
    """Build the stream, time the reads, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("cache")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--batches", type=int, default=2000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    stream = ImageFolder(root=args.root, cache_dir=args.cache, labels_per_class=5).build_stream(0)
    task, generator = stream[0], torch.Generator().manual_seed(0)
    warm = batch_seconds(task, args.batch, WARM_BATCHES, generator)
    steady = batch_seconds(task, args.batch, args.batches, generator)
    report = {
        "task_images": len(task),
        "batch": args.batch,
        "first_batches_mean_us": round(1e6 * statistics.mean(warm), 1),
        "batch_median_us": round(1e6 * statistics.median(steady), 1),
        "batch_mean_us": round(1e6 * statistics.mean(steady), 1),
        "test_images": len(task.test_x),
        "test_sweep_ms": round(1e3 * sweep_seconds(stream, task), 2),
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
