"""How good are the pseudo-labels an unlabeled loss trains on? Per task: the share of unlabeled images whose
weak-view confidence reaches a threshold, and how often those confident pseudo-labels are right.

Trains one run in this process with an extra callback that, every ``--every`` iterations, scores the
iteration's unlabeled batch (weak view, no-grad) against the images' true classes. The true classes are read
only for this report; the run itself never sees them.

    python benchmarks/pseudo_label_quality.py --method der+fixmatch --set dataset.name=fashion-mnist \
        --set train.iters_per_task=500 [--thresholds 0.5 0.8 0.95]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import defaultdict
from typing import Any, ClassVar

import torch

from sscl_core import Callback, component, hookimpl, param
from sscl_core.config.run_config import load_config
from sscl_core.plugins.registry import load_registry
from sscl_core.run.trainer import Trainer


@component
class PseudoLabelProbe(Callback):
    """Scores the weak view's pseudo-labels of every ``every``-th iteration's unlabeled batch."""

    name = "pseudo-label-probe"
    every: int = param(10, help="probe every this many iterations")
    thresholds: list[float] = param([0.5, 0.8, 0.95], help="confidence thresholds to report")
    records: ClassVar[dict[int, list[dict[str, Any]]]] = defaultdict(list)

    @hookimpl
    def after_iter(self, ctx: Any, batch: Any) -> None:
        """Confident share and accuracy of the pseudo-labels of this batch, per threshold."""
        if ctx.task_iter % self.every or batch.u_weak is None:
            return
        with torch.no_grad():
            probs = torch.softmax(ctx.model(batch.u_weak), dim=1)
        confidence, labels = probs.max(dim=1)
        truth = ctx.task.oracle_y[batch.u_index].to(labels.device)
        row: dict[str, Any] = {"all_correct": float((labels == truth).float().mean())}
        for t in self.thresholds:
            mask = confidence >= t
            row[f"share@{t}"] = float(mask.float().mean())
            row[f"correct@{t}"] = float((labels[mask] == truth[mask]).float().mean()) if mask.any() else None
        PseudoLabelProbe.records[ctx.task_index].append(row)


def main(argv: list[str] | None = None) -> int:
    """Run the config and print one line per task."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", required=True)
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--thresholds", nargs="+", type=float, default=[0.5, 0.8, 0.95])
    parser.add_argument("--every", type=int, default=10)
    args = parser.parse_args(argv)
    registry = load_registry()
    registry.add("callback", PseudoLabelProbe, "benchmarks")
    config = load_config(overrides=args.overrides, components={"method": args.method})
    config.callbacks = [
        *config.callbacks,
        {"name": "pseudo-label-probe", "every": args.every, "thresholds": args.thresholds},
    ]
    Trainer(config, registry).run()
    for task, rows in sorted(PseudoLabelProbe.records.items()):
        cells = [f"argmax right {statistics.fmean(r['all_correct'] for r in rows):.1%}"]
        for t in args.thresholds:
            share = statistics.fmean(r[f"share@{t}"] for r in rows)
            right = [r[f"correct@{t}"] for r in rows if r[f"correct@{t}"] is not None]
            cells.append(f"@{t}: {share:.1%} confident, {statistics.fmean(right):.1%} right" if right else f"@{t}: 0%")
        print(f"task {task}: " + "; ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
