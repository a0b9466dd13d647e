"""Where the time of a training iteration goes: batch building, forwards (with and without gradient),
backward, optimizer step, augmentation of replayed samples and memory-pool work, per method, side by side.

Every variant is one run in this process (``sscl run`` as the bench starts it: a preset or ``--method``,
plus ``--set`` overrides common to all), with timers wrapped around the framework's entry points: the batch
builder (loading plus the unlabeled views), the model's forward (split by grad mode, rows counted), the
backward, the optimizer step, the batched transforms called by the method itself and every memory-pool call.
Only the outermost timed call counts (augmentation inside the batch builder is batch building). The rest of
an iteration (losses, bookkeeping) is what remains of the trainer's measured iteration time. Variants run in
turn, ``--repeats`` times, each repeat starting at another variant; per part the table shows the median over
the iterations of each phase (the post-warm-up iterations of every task but the first, the warm-up ones
of the same tasks, and all) and the ratio of the iteration time to the reference variant's, median over repeats.

    python benchmarks/iteration_profile.py OUT \
        --variant edgehml=edgehml-fmnist-5 --variant der+fixmatch=method:der+fixmatch \
        --set dataset.name=fashion-mnist --set dataset.num_tasks=2 [--repeats 1] [--warmup-iters 300]

A variant is ``LABEL=PRESET[,KEY=VALUE...]`` or ``LABEL=method:NAME[,KEY=VALUE...]``; the first variant
is the reference unless ``--reference`` names another. Writes ``OUT/profile.json`` and prints a Markdown
table.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import torch

from sscl_core.api.backbone import ClassifierModel
from sscl_core.config.run_config import load_config
from sscl_core.plugins.registry import Registry, load_registry
from sscl_core.run.sampling import BatchBuilder
from sscl_core.run.trainer import Trainer
from sscl_plugin_datasets.augment import ImageTransforms

PHASES = ("post-warmup", "warmup", "all")
"""The iteration sets summarized: after the warm-up and in it (tasks after the first), and every iteration."""

PARTS = ("batch", "forward-grad", "forward-nograd", "backward", "step", "augment", "pool", "rest")
"""The parts of an iteration the table shows, in order (``rest``: the iteration minus the timed parts)."""


@attrs.define
class IterationLog:
    """Seconds per part and rows forwarded, one dict per iteration, filled by the timers."""

    iterations: list[dict[str, float]] = attrs.field(factory=list)
    task_iters: list[tuple[int, int]] = attrs.field(factory=list)
    active: bool = False

    def start(self, task_id: int, task_iter: int) -> None:
        """Open the record of a new iteration."""
        self.iterations.append(defaultdict(float))
        self.task_iters.append((task_id, task_iter))

    @contextlib.contextmanager
    def timed(self, part: str, rows: int = 0) -> Iterator[None]:
        """Add the time of the enclosed call to ``part`` of the current iteration, unless an outer timed call
        is running (its part takes the whole time) or no iteration is open (evaluation, task-end hooks)."""
        if self.active or not self.iterations:
            yield
            return
        self.active = True
        start = time.perf_counter()
        try:
            yield
        finally:
            self.active = False
            record = self.iterations[-1]
            record[part] += time.perf_counter() - start
            if rows:
                record[f"rows:{part}"] += rows

    def close_task(self) -> None:
        """Stop attributing calls to the last iteration (the task-end hooks and evaluation follow)."""
        self.iterations.append(defaultdict(float))
        self.task_iters.append((-1, -1))


LOG = IterationLog()
"""The timers' log of the run in progress."""


def _wrap(owner: type, name: str, part: Callable[..., tuple[str, int]]) -> None:
    """Time ``owner.name`` under the part ``part(*args)`` returns (a name and a row count)."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        label, rows = part(*args)
        with LOG.timed(label, rows):
            return original(*args, **kwargs)

    setattr(owner, name, timed)


def _rows(tensor: Any) -> int:
    return int(tensor.shape[0]) if torch.is_tensor(tensor) and tensor.dim() else 0


def _forward_kind() -> str:
    return "forward-grad" if torch.is_grad_enabled() else "forward-nograd"


def install_timers(registry: Registry) -> None:
    """Wrap the entry points once: batch builder, model forward, backward, optimizer step, transforms called
    by methods, and every public method of every registered memory pool class."""
    original_next = BatchBuilder.next

    def next_batch(self: BatchBuilder, views: tuple[str, ...]) -> Any:
        counter = getattr(self, "_profile_iter", 0)
        self._profile_iter = counter + 1
        LOG.start(self.task.id, counter)
        with LOG.timed("batch"):
            return original_next(self, views)

    BatchBuilder.next = next_batch
    _wrap(ClassifierModel, "forward", lambda _m, x, *a: (_forward_kind(), _rows(x)))
    _wrap(torch.Tensor, "backward", lambda *a: ("backward", 0))
    _wrap(torch.optim.SGD, "step", lambda *a: ("step", 0))
    for name in ("weak", "strong"):
        _wrap(ImageTransforms, name, lambda _t, x, *a: ("augment", _rows(x)))
    for entry in registry.components.get("memory_pool", {}).values():
        for name in ("add", "add_pseudo", "sample", "sample_labeled", "sample_pseudo"):
            if hasattr(entry.cls, name):
                _wrap(entry.cls, name, lambda *a: ("pool", 0))
    original_train_task = Trainer._train_task

    def train_task(self: Trainer, *args: Any) -> Any:
        result = original_train_task(self, *args)
        LOG.close_task()
        return result

    Trainer._train_task = train_task


def parse_variant(text: str) -> tuple[str, str | None, str | None, list[str]]:
    """``LABEL=PRESET[,K=V...]`` or ``LABEL=method:NAME[,K=V...]`` as (label, preset, method, overrides)."""
    label, _, spec = text.partition("=")
    head, *overrides = spec.split(",")
    if head.startswith("method:"):
        return label, None, head.removeprefix("method:"), overrides
    return label, head, None, overrides


def run_variant(
    registry: Registry, variant: str, common: list[str], out: Path, repeat: int
) -> tuple[list[dict[str, float]], dict[str, Any]]:
    """Train one variant; its per-iteration parts (with the trainer's iteration time as ``iteration``)."""
    label, preset, method, overrides = parse_variant(variant)
    path = registry.preset(preset) if preset else None
    settings = [*common, *overrides, f"output_dir={out / 'runs'}", f"run_name={label}-r{repeat}"]
    config = load_config(path, overrides=settings, components={"method": method})
    LOG.iterations.clear()
    LOG.task_iters.clear()
    result = Trainer(config, registry).run()
    seconds = [s for task in result.metrics["timing"]["iteration_seconds"] for s in task]
    records = [(key, dict(r)) for key, r in zip(LOG.task_iters, LOG.iterations, strict=True) if key[0] >= 0]
    if len(records) != len(seconds):
        raise SystemExit(f"{label}: {len(records)} timed iterations, the trainer counted {len(seconds)}")
    rows = []
    for ((task, k), record), total in zip(records, seconds, strict=True):
        record["iteration"] = total
        record["rest"] = total - sum(record.get(p, 0.0) for p in PARTS if p != "rest")
        record["task"], record["k"] = task, k
        rows.append(record)
    return rows, result.metrics


def select(rows: list[dict[str, float]], phase: str, warmup_iters: int) -> list[dict[str, float]]:
    """The iterations of ``phase``: post-warm-up (tasks after the first), warm-up (same tasks) or all."""
    if phase == "all":
        return rows
    later = [r for r in rows if r["task"] > rows[0]["task"]]
    if phase == "warmup":
        return [r for r in later if r["k"] < warmup_iters]
    return [r for r in later if r["k"] >= warmup_iters]


def summarize(rows: list[dict[str, float]]) -> dict[str, float]:
    """Median seconds per part and iteration, mean rows per forward kind."""
    if not rows:
        return {}
    out = {p: statistics.median(r.get(p, 0.0) for r in rows) for p in (*PARTS, "iteration")}
    out["mean_iteration"] = statistics.fmean(r["iteration"] for r in rows)
    for kind in ("forward-grad", "forward-nograd", "augment"):
        out[f"rows:{kind}"] = statistics.fmean(r.get(f"rows:{kind}", 0.0) for r in rows)
    out["iterations"] = len(rows)
    return out


def markdown(results: dict[str, dict[str, Any]], reference: str, phase: str) -> str:
    """One row per variant: median ms per part, rows per iteration, iteration ratio to the reference."""
    head = " | ".join(f"{p} (ms)" for p in PARTS)
    lines = [
        f"Phase: {phase}. Median over the selected iterations; ratios per repeat to {reference}, median.",
        "",
        f"| variant | {head} | median iteration (ms) | mean iteration (ms) | grad / no-grad / augmented rows "
        f"| median iteration / {reference} | mean iteration / {reference} | total train / {reference} |",
        "|---" * (len(PARTS) + 7) + "|",
    ]
    for label, result in results.items():
        s = result["summary"]
        cells = " | ".join(f"{1000 * s[p]:.1f}" for p in PARTS)
        rows = f"{s['rows:forward-grad']:.0f} / {s['rows:forward-nograd']:.0f} / {s['rows:augment']:.0f}"
        lines.append(
            f"| {label} | {cells} | {1000 * s['iteration']:.1f} | {1000 * s['mean_iteration']:.1f} | {rows} "
            f"| {result['median_ratio']:.2f} | {result['mean_ratio']:.2f} | {result['total_ratio']:.2f} |"
        )
    return "\n".join(lines)


def combine(
    per_repeat: dict[str, list[dict[str, Any]]], labels: list[str], reference: str, phase: str
) -> dict[str, dict[str, Any]]:
    """Per variant: the medians over repeats of the phase's parts, and its ratios to the reference per repeat."""
    results = {}
    for label in labels:
        runs = [r["summary"][phase] for r in per_repeat[label]]
        refs = [r["summary"][phase] for r in per_repeat[reference]]
        pairs = list(zip(runs, refs, strict=True))
        totals = zip(per_repeat[label], per_repeat[reference], strict=True)
        results[label] = {
            "summary": {k: statistics.median(r[k] for r in runs) for k in runs[0]},
            "median_ratio": statistics.median(r["iteration"] / f["iteration"] for r, f in pairs),
            "mean_ratio": statistics.median(r["mean_iteration"] / f["mean_iteration"] for r, f in pairs),
            "total_ratio": statistics.median(r["total"] / f["total"] for r, f in totals),
        }
    return results


def main() -> None:
    """Run every variant ``--repeats`` times (rotating the order), then print and save the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--variant", action="append", required=True, help="LABEL=PRESET[,K=V] or LABEL=method:NAME")
    parser.add_argument("--set", action="append", default=[], dest="common", help="override for every variant")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--warmup-iters", type=int, default=300, help="in-task iteration where the phases split")
    parser.add_argument("--reference", help="label of the reference variant (default: the first)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    registry = load_registry()
    install_timers(registry)
    labels = [parse_variant(v)[0] for v in args.variant]
    reference = args.reference or labels[0]
    per_repeat: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for repeat in range(args.repeats):
        order = args.variant[repeat % len(args.variant) :] + args.variant[: repeat % len(args.variant)]
        for variant in order:
            rows, metrics = run_variant(registry, variant, args.common, args.out, repeat)
            summaries = {phase: summarize(select(rows, phase, args.warmup_iters)) for phase in PHASES}
            per_repeat[parse_variant(variant)[0]].append(
                {"summary": summaries, "total": metrics["timing"]["total_train_seconds"]}
            )
            print(f"repeat {repeat}: {parse_variant(variant)[0]} done", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    tables = {phase: combine(per_repeat, labels, reference, phase) for phase in PHASES}
    (args.out / "profile.json").write_text(json.dumps({"tables": tables, "runs": per_repeat}, indent=2))
    for phase in PHASES:
        print(markdown(tables[phase], reference, phase), end="\n\n")


if __name__ == "__main__":
    main()
