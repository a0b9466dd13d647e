"""Cost of every backbone at 32x32x3: parameters, MACs and training-iteration time relative to a reference.

Each run is ``sscl run --method er`` on one task of a CIFAR-10-format folder of random images that this
script writes (timing does not depend on the pixels), with the fmnist-5 batch shape: B 8 labeled images,
er replays 8 more from its pool (5 labels per class, SGD lr 0.03 momentum 0.9). Repeats are the outer loop
and every repeat runs each backbone once, starting at a different backbone each time, so slow drift of a
shared machine hits all backbones alike. Per repeat, a backbone's median iteration time is divided by the
reference's median of the same repeat; the table shows the median of those ratios over repeats.
PyTorch runs on ``--threads`` threads (default 1): on a machine shared by other jobs, two threads spinning
at OpenMP barriers for cores that other processes hold made single iterations up to 40 times slower.

    python benchmarks/backbone_cost.py OUT_DIR [--repeats 3] [--iters 5] [--threads 1] [--reference small-cnn]

Runs land in ``OUT_DIR/runs/<backbone>-s<repeat>`` (``sscl report`` reads them too); a run
whose ``metrics.json`` exists is not repeated, so an interrupted benchmark resumes where it stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
from pathlib import Path
from typing import Any

import torch

from sscl_core import cli
from sscl_core.plugins.registry import load_registry
from sscl_core.run.cost import format_macs
from sscl_plugin_datasets.cifar_writer import write_cifar10

TRAIN_PER_CLASS = 20
"""Training images per class in the generated folder (only the first task's two classes are used)."""

TEST_PER_CLASS = 4
"""Test images per class: evaluation is not what is measured, so it is kept small."""


def write_data(root: Path) -> Path:
    """A CIFAR-10-format folder of random images, written once."""
    if not (root / "cifar-10-batches-py" / "batches.meta").is_file():
        generator = torch.Generator().manual_seed(0)
        train_y = torch.arange(10).repeat(TRAIN_PER_CLASS)
        test_y = torch.arange(10).repeat(TEST_PER_CLASS)
        images = [
            torch.randint(0, 256, (len(y), 3, 32, 32), dtype=torch.uint8, generator=generator)
            for y in (train_y, test_y)
        ]
        write_cifar10(root, images[0], train_y, images[1], test_y)
    return root


def run_arguments(backbone: str, repeat: int, data: Path, runs: Path, iters: int) -> list[str]:
    """The ``sscl run`` command line of one backbone and repeat."""
    settings = [
        f"dataset.root={data}",
        "dataset.num_tasks=1",
        "dataset.labels_per_class=5",
        "train.batch_size=8",
        "method.replay_batch_size=8",
        f"train.iters_per_task={iters}",
        "train.eval_batch_size=64",
        "device=cpu",
        f"seed={repeat}",
        f"output_dir={runs}",
        f"run_name={backbone}-s{repeat}",
    ]
    return [
        "run",
        "--dataset",
        "cifar10",
        "--method",
        "er",
        "--backbone",
        backbone,
        *(a for s in settings for a in ("--set", s)),
    ]


def run_all(out: Path, backbones: list[str], repeats: int, iters: int) -> None:
    """Every backbone once per repeat, rotating the starting backbone; the CLI's output goes to a log file."""
    data, runs = write_data(out / "data"), out / "runs"
    with (out / "runs.log").open("a") as log:
        for repeat in range(repeats):
            order = backbones[repeat % len(backbones) :] + backbones[: repeat % len(backbones)]
            for backbone in order:
                if (runs / f"{backbone}-s{repeat}" / "metrics.json").is_file():
                    continue
                with contextlib.redirect_stdout(log):
                    code = cli.main(run_arguments(backbone, repeat, data, runs, iters))
                if code != 0:
                    raise SystemExit(f"sscl run failed for {backbone} (repeat {repeat}); see {out / 'runs.log'}")
                print(f"repeat {repeat}: {backbone} done", flush=True)


def table(out: Path, backbones: list[str], reference: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One row per backbone from the run directories, cheapest first, and the machine line of a run."""
    metrics = {path.parent.name: json.loads(path.read_text()) for path in sorted((out / "runs").glob("*/metrics.json"))}

    def median_iteration(backbone: str, repeat: int) -> float | None:
        run = metrics.get(f"{backbone}-s{repeat}")
        return run["timing"]["median_iteration_seconds"] if run else None

    repeats = sorted({int(name.rsplit("-s", 1)[1]) for name in metrics})
    rows, machine = [], {}
    for backbone in backbones:
        done = [r for r in repeats if median_iteration(backbone, r) is not None]
        if not done:
            continue
        first = metrics[f"{backbone}-s{done[0]}"]
        machine = first["machine"]
        ratios = [
            median_iteration(backbone, r) / median_iteration(reference, r)
            for r in done
            if median_iteration(reference, r) is not None
        ]
        rows.append(
            {
                "backbone": backbone,
                "parameters": first["model"]["parameters"],
                "macs": first["model"]["macs"],
                "input_shape": first["model"]["input_shape"],
                "median_iteration_ms": 1000 * statistics.median(median_iteration(backbone, r) for r in done),
                "ratio": statistics.median(ratios) if ratios else None,
                "ratio_range": (min(ratios), max(ratios)) if ratios else None,
                "repeats": len(done),
            }
        )
    return sorted(rows, key=lambda row: row["macs"]), machine


def markdown(rows: list[dict[str, Any]], machine: dict[str, Any], reference: str) -> str:
    """The table as Markdown, with the machine line under it."""
    header = f"| backbone | parameters | MACs | median iteration (ms) | ratio to {reference} | ratio range | repeats |"
    lines = [header, "|---|---|---|---|---|---|---|"]
    for row in rows:
        ratio = f"{row['ratio']:.2f}" if row["ratio"] is not None else "n/a"
        spread = "{:.2f}-{:.2f}".format(*row["ratio_range"]) if row["ratio_range"] else "n/a"
        lines.append(
            f"| `{row['backbone']}` | {row['parameters']:,} | {format_macs(row['macs'])} "
            f"| {row['median_iteration_ms']:.1f} | {ratio} | {spread} | {row['repeats']} |"
        )
    if machine:
        lines.append(
            f"\nMachine: {machine['cpus']} CPUs ({machine['torch_threads']} torch threads), torch {machine['torch']}, "
            f"torchvision {machine['torchvision']}, device {machine['device']}."
        )
    return "\n".join(lines)


def main() -> None:
    """Run the missing runs, then print the table and write it as JSON beside the runs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the data, the run directories and the table")
    parser.add_argument("--repeats", type=int, default=3, help="runs per backbone (default 3)")
    parser.add_argument("--iters", type=int, default=5, help="training iterations per run (default 5)")
    parser.add_argument("--reference", default="small-cnn", help="backbone the ratios are taken to")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--backbones", nargs="*", help="backbones to measure (default: every registered one)")
    parser.add_argument("--table-only", action="store_true", help="print the table of the runs present; run nothing")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    backbones = args.backbones or load_registry().names("backbone")
    if args.reference not in backbones:
        backbones = [args.reference, *backbones]
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.table_only:
        run_all(args.out, backbones, args.repeats, args.iters)
    rows, machine = table(args.out, backbones, args.reference)
    (args.out / "backbone_cost.json").write_text(json.dumps({"rows": rows, "machine": machine}, indent=2))
    print(markdown(rows, machine, args.reference))


if __name__ == "__main__":
    main()
