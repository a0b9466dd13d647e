"""What metrics.json says of a run: its metric matrices and summaries, timing, memory, model cost and machine."""

import os
import platform
import resource
import statistics
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import torch

from sscl_core.api.context import RunContext
from sscl_core.api.evaluator import summarize
from sscl_core.run.cost import model_cost
from sscl_core.run.resolve import Components
from sscl_core.run.run_state import Progress


def peak_rss_bytes() -> int:
    """Peak resident memory of this process so far."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def machine_info(device: torch.device) -> dict[str, Any]:
    """The machine line of every result: CPU count, versions and device."""

    def installed(dist: str) -> str | None:
        try:
            return version(dist)
        except PackageNotFoundError:
            return None

    return {
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": installed("torchvision"),
        "sscl_core": installed("sscl-core"),
        "device": str(device),
        "platform": platform.platform(),
    }


def _timing(progress: Progress) -> dict[str, Any]:
    flat = [s for task in progress.iter_seconds for s in task]
    flat_data = [s for task in progress.data_seconds for s in task]
    return {
        "median_iteration_seconds": statistics.median(flat),
        "mean_iteration_seconds": statistics.fmean(flat),
        "data_share": sum(flat_data) / sum(flat) if sum(flat) else 0.0,
        "total_train_seconds": sum(progress.task_seconds),
        "task_train_seconds": progress.task_seconds,
        "eval_seconds": progress.eval_seconds,
        "iteration_seconds": progress.iter_seconds,
        "data_seconds": progress.data_seconds,
    }


def run_metrics(components: Components, ctx: RunContext, progress: Progress) -> dict[str, Any]:
    """metrics.json of the run after the tasks ``progress`` holds."""
    pool, evaluator, backbone = ctx.memory_pool, components.evaluator, components.backbone
    return {
        "method": components.method_label(),
        "dataset": type(components.dataset).name,
        "backbone": type(backbone).name if backbone is not None else None,
        "problem": type(components.dataset).problem,
        "model_component": type(components.model).name,
        "scenario": ctx.stream.scenario,
        "seed": ctx.config.seed,
        "tasks_done": progress.tasks_done,
        "left_out_classes": list(ctx.stream.left_out_classes),
        "evaluation": {
            "evaluator": evaluator.name,
            "key": evaluator.result_key,
            "metrics": list(evaluator.metrics),
            "unit": evaluator.unit,
        },
        evaluator.result_key: progress.matrices,
        "summary": {metric: summarize(progress.matrices[metric]) for metric in evaluator.metrics},
        "timing": _timing(progress),
        "memory": {
            "peak_rss_bytes": peak_rss_bytes(),
            "pool_samples": len(pool) if pool is not None else 0,
            "pool_ram_bytes": pool.ram_bytes() if pool is not None else 0,
            "pool_disk_bytes": pool.disk_bytes() if pool is not None else 0,
        },
        "model": {**model_cost(ctx.model, ctx.stream.input_shape), "input_shape": list(ctx.stream.input_shape)},
        "machine": machine_info(ctx.device),
    }
