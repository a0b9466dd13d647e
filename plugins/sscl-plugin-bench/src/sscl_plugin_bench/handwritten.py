"""A hand-written PyTorch training loop doing exactly what ``sscl run --method finetune`` does, to time the
framework's overhead against: the two alternate in one process, so a busy machine slows both alike.

Same stream, model, optimizer, learning-rate schedule and batches (drawn from the same generator in the same
order), so with the same seed it ends with the same weights as the framework's finetune run; only the framework
around the loop (hooks, batch objects, bookkeeping) is missing. Each iteration is timed over the same span as the
trainer's: from drawing the batch to the loss as a Python float.

    python -m sscl_plugin_bench.handwritten CONFIG [--set KEY=VALUE]... --run-dir DIR [--rounds 3]
    (writes DIR/metrics.json: the loop's timing and ``framework_overhead``)
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import attrs
import torch
import torch.nn.functional as F

from sscl_core.api.command import add_overrides_argument
from sscl_core.api.dataset import place_cache
from sscl_core.api.errors import SsclError
from sscl_core.classification.model import ClassifierModel
from sscl_core.config.run_config import RunConfig, load_config
from sscl_core.plugins.registry import Registry, config_path, load_registry
from sscl_core.run.checkpoint import load_checkpoint, read_manifest
from sscl_core.run.metrics import machine_info
from sscl_core.run.resolve import resolve_device
from sscl_core.run.rundir import write_metrics
from sscl_core.run.trainer import Trainer
from sscl_plugin_bench.protocol import HANDWRITTEN_LABEL


@attrs.define
class HandwrittenResult:
    """The trained model and the wall time of every iteration, per task."""

    model: torch.nn.Module
    iter_seconds: list[list[float]]


def train_handwritten(config: RunConfig, registry: Registry) -> HandwrittenResult:
    """Fine-tune on the labeled samples of each task in turn, as the framework's ``finetune`` does."""
    train = config.train
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    dataset = registry.create("dataset", config.dataset)
    place_cache(dataset, config.output_dir)
    stream = dataset.build_stream(config.seed)
    backbone = registry.create("backbone", config.backbone).build(stream.input_shape)
    model = ClassifierModel(backbone, stream.num_classes).to(device)
    generator = torch.Generator().manual_seed(config.seed)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=train.lr_at(0), momentum=train.momentum, weight_decay=train.weight_decay)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    iter_seconds = []
    for task in stream.tasks:
        labeled = task.labeled_index
        order, position, times = torch.zeros(0, dtype=torch.long), 0, []
        model.train()
        for k in range(train.iters_per_task):
            start = time.perf_counter()
            picks = []
            need = train.batch_size
            while need > 0:
                if position >= len(order):
                    order, position = torch.randperm(len(labeled), generator=generator), 0
                take = order[position : position + need]
                position += len(take)
                need -= len(take)
                picks.append(take)
            index = labeled[torch.cat(picks)]
            x = stream.transforms.weak(task.train_x[index].to(device), generator)
            y = task.oracle_y[index].to(device)
            for group in optimizer.param_groups:
                group["lr"] = train.lr_at(k)
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if train.grad_clip_norm is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), train.grad_clip_norm)
            optimizer.step()
            float(loss.detach())
            sync()
            times.append(time.perf_counter() - start)
        iter_seconds.append(times)
    return HandwrittenResult(model=model, iter_seconds=iter_seconds)


def framework_finetune(config: RunConfig, registry: Registry, run_dir: Path) -> tuple[list[float], dict]:
    """Run ``finetune`` through the framework into ``run_dir``: its iteration times and final model weights."""
    config = attrs.evolve(config, method={"name": "finetune"}, unlabeled=None, memory_pool=None, callbacks=[])
    config = attrs.evolve(config, output_dir=str(run_dir.parent), run_name=run_dir.name)
    result = Trainer(config, registry).run()
    flat = [s for task in result.metrics["timing"]["iteration_seconds"] for s in task]
    state = load_checkpoint(result.run_dir, read_manifest(result.run_dir))["model"]
    shutil.rmtree(result.run_dir)
    return flat, state


def measure_overhead(config: RunConfig, registry: Registry, rounds: int, scratch: Path) -> dict[str, Any]:
    """Alternate the framework's finetune and the hand-written loop ``rounds`` times each in this process.

    Returns both loops' median iteration times per round, their ratio per round and its median, and whether
    the two ended with identical weights (they must: same seed, same batches, same updates).
    """
    framework, handwritten, same_weights = [], [], True
    for r in range(rounds):
        times, state = framework_finetune(config, registry, scratch / f"framework-round{r}")
        framework.append(statistics.median(times))
        result = train_handwritten(config, registry)
        handwritten.append(statistics.median(s for task in result.iter_seconds for s in task))
        mine = result.model.state_dict()
        same_weights &= state.keys() == mine.keys() and all(torch.equal(state[k], mine[k].cpu()) for k in state)
    ratios = [f / h for f, h in zip(framework, handwritten, strict=True)]
    return {
        "framework_median_iteration_seconds": framework,
        "handwritten_median_iteration_seconds": handwritten,
        "ratios": ratios,
        "ratio": statistics.median(ratios),
        "same_weights": same_weights,
        "last_iteration_seconds": result.iter_seconds,
    }


def main(argv: list[str] | None = None) -> int:
    """Measure the overhead on a config and write the run directory's metrics.json."""
    parser = argparse.ArgumentParser(
        prog="python -m sscl_plugin_bench.handwritten", description=__doc__.splitlines()[0]
    )
    parser.add_argument("config")
    add_overrides_argument(parser, "override a setting (repeatable)")
    parser.add_argument("--run-dir", required=True, type=Path)
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the two loops (default 3)")
    args = parser.parse_args(argv)
    try:
        registry = load_registry()
        config = load_config(config_path(args.config, registry), args.overrides)
        args.run_dir.mkdir(parents=True, exist_ok=True)
        overhead = measure_overhead(config, registry, args.rounds, args.run_dir / "scratch")
    except SsclError as error:
        print(f"sscl: error: {error}", file=sys.stderr)
        return 2
    shutil.rmtree(args.run_dir / "scratch", ignore_errors=True)
    last = overhead.pop("last_iteration_seconds")
    flat = [s for task in last for s in task]
    write_metrics(
        args.run_dir,
        {
            "method": HANDWRITTEN_LABEL,
            "seed": config.seed,
            "tasks_done": len(last),
            "timing": {
                "median_iteration_seconds": statistics.median(overhead["handwritten_median_iteration_seconds"]),
                "mean_iteration_seconds": statistics.fmean(flat),
                "total_train_seconds": sum(flat),
                "iteration_seconds": last,
            },
            "framework_overhead": overhead,
            "machine": machine_info(resolve_device(config.device)),
        },
    )
    print(json.dumps({"overhead_ratio": overhead["ratio"], "same_weights": overhead["same_weights"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
