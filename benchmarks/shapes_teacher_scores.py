"""How confident a detection run's student and SoftTeacher teacher are: the shapes-5 diagnosis of issue 18.

Loads a run directory's last checkpoint, rebuilds its stream and detector from the run's config, and runs the
student and (for runs with ``soft-teacher``) the teacher on the first ``--images`` training images of the last
task trained, in the test view. Prints one Markdown row per network: detections per image with score above
0.05, above SoftTeacher's 0.5 (a pseudo-box) and above its 0.9 (trains the RPN and classification), and the
mean of each image's highest score.

    python benchmarks/shapes_teacher_scores.py RUN_DIR [RUN_DIR ...] [--images 100]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from sscl_core.plugins.registry import load_registry

THRESHOLDS = (0.05, 0.5, 0.9)
"""Score thresholds counted: a low one, SoftTeacher's pseudo-box and its classification threshold."""


def load(run_dir: Path) -> tuple[dict, dict]:
    """The run's config (from the checkpoint) and its last checkpoint."""
    last = sorted((run_dir / "checkpoints").glob("after-task-*.pt"), key=lambda p: int(p.stem.split("-")[-1]))[-1]
    checkpoint = torch.load(last, map_location="cpu", weights_only=False)
    return checkpoint["config"], checkpoint


@torch.no_grad()
def scores(network: torch.nn.Module, images: list[torch.Tensor]) -> list[torch.Tensor]:
    """The detection scores of each image (eval mode, batches of 16)."""
    network.eval()
    found = []
    for start in range(0, len(images), 16):
        found += [d["scores"] for d in network([x.float() / 255 for x in images[start : start + 16]])]
    return found


def row(name: str, found: list[torch.Tensor]) -> str:
    """One Markdown row of the counts and the mean top score."""
    counts = [sum(int((s > t).sum()) for s in found) / len(found) for t in THRESHOLDS]
    top = sum(float(s.max()) if len(s) else 0.0 for s in found) / len(found)
    return f"| {name} | " + " | ".join(f"{c:.2f}" for c in counts) + f" | {top:.3f} |"


def main() -> None:
    """Print the table for every run directory given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--images", type=int, default=100)
    args = parser.parse_args()
    torch.set_num_threads(1)
    registry = load_registry()
    print("| network | per image > 0.05 | > 0.5 | > 0.9 | mean top score |")
    print("|---|---|---|---|---|")
    for run_dir in args.runs:
        config, checkpoint = load(run_dir)
        stream = registry.create("dataset", config["dataset"]).build_stream(config["seed"])
        task = stream.tasks[checkpoint["tasks_done"] - 1]
        images = [task.train_x[i] for i in range(min(args.images, len(task.train_x)))]
        network = registry.create("model", config["model"]).build(stream, None)
        network.load_state_dict(checkpoint["model"])
        print(row(f"{run_dir.name} student", scores(network, images)))
        teacher = checkpoint["components"].get("unlabeled_loss:soft-teacher")
        if teacher is not None:
            network.load_state_dict(teacher["teacher"])
            print(row(f"{run_dir.name} teacher", scores(network, images)))
    print(json.dumps({"images": args.images, "thresholds": THRESHOLDS}))


if __name__ == "__main__":
    main()
