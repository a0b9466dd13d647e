"""The iteration-based trainer: the loop, the optimizer step, the clock and the lifecycle hooks."""

from __future__ import annotations

import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import attrs
import pluggy
import torch

from sscl_core import hookspecs
from sscl_core.backbone import ClassifierModel, count_parameters
from sscl_core.config import RunConfig
from sscl_core.context import RunContext
from sscl_core.errors import SsclError
from sscl_core.evaluation import PROTOCOLS, Matrix, evaluate_seen_tasks, summarize
from sscl_core.events import EventLog
from sscl_core.registry import Registry
from sscl_core.resolve import Components, resolve_components, resolve_device
from sscl_core.rundir import create_run_dir, default_run_name, write_config, write_metrics
from sscl_core.sampling import BatchBuilder


@attrs.define
class RunResult:
    """Where a finished run wrote its outputs, and its metrics."""

    run_dir: Path
    metrics: dict[str, Any]


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


def lifecycle_manager(components: Components) -> pluggy.PluginManager:
    """A PluginManager for one run's lifecycle hooks, holding only the selected components."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs.LifecycleSpecs)
    members = [("method", components.method), ("memory_pool", components.memory_pool)]
    members += [(f"callback{i}", c) for i, c in enumerate(components.callbacks)]
    members.append(("active_learning", components.active_learning))
    for role, obj in members:
        if obj is None:
            continue
        try:
            pm.register(obj, name=f"{role}:{type(obj).name}")
            pm.check_pending()
        except pluggy.PluginValidationError as error:
            raise SsclError(f"{role} '{type(obj).name}': {error}") from None
    return pm


class Trainer:
    """Runs one config end to end and writes its run directory."""

    def __init__(self, config: RunConfig, registry: Registry, echo: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.registry = registry
        self.echo = echo or (lambda _line: None)
        self.components = resolve_components(config, registry)

    def run(self) -> RunResult:
        """Train on every task in order, evaluate after each, and return the metrics."""
        config, parts = self.config, self.components
        device = resolve_device(config.device)
        torch.manual_seed(config.seed)
        stream = parts.dataset.build_stream(config.seed)
        model = ClassifierModel(parts.backbone.build(stream.input_shape), stream.num_classes).to(device)
        pm = lifecycle_manager(parts)
        run_dir = create_run_dir(
            config.output_dir,
            config.run_name or default_run_name(type(parts.dataset).name, type(parts.method).name, config.seed),
        )
        write_config(run_dir, parts.resolved_config(config))
        events = EventLog(run_dir / "events.jsonl")
        ctx = RunContext(
            config=config,
            stream=stream,
            model=model,
            method=parts.method,
            backbone=parts.backbone,
            device=device,
            generator=torch.Generator().manual_seed(config.seed),
            hook=pm.hook,
            events=events,
            run_dir=run_dir,
            memory_pool=parts.memory_pool,
        )
        ctx.rebuild_optimizer()
        try:
            return self._train(ctx)
        finally:
            events.close()
            for plugin in list(pm.get_plugins()):
                pm.unregister(plugin)

    def _train(self, ctx: RunContext) -> RunResult:
        train, stream = ctx.config.train, ctx.stream
        matrices: dict[str, Matrix] = {p: [] for p in PROTOCOLS}
        iter_seconds: list[list[float]] = []
        data_seconds: list[list[float]] = []
        task_seconds: list[float] = []
        eval_seconds: list[float] = []
        ctx.log("run_start", tasks=len(stream), scenario=stream.scenario, method=ctx.method.name)
        ctx.hook.before_run(ctx=ctx)
        for t, task in enumerate(stream.tasks):
            ctx.task, ctx.task_index, ctx.task_iter = task, t, 0
            ctx.log("task_start", task=t, classes=list(task.classes))
            ctx.hook.before_task(ctx=ctx, task=task)
            builder = BatchBuilder(task, stream.transforms, train.batch_size, train.uratio, ctx.device, ctx.generator)
            times, data_times = self._train_task(ctx, builder)
            iter_seconds.append(times)
            data_seconds.append(data_times)
            task_seconds.append(sum(times))
            ctx.hook.after_task(ctx=ctx, task=task)
            start = time.perf_counter()
            ctx.hook.before_val(ctx=ctx, task=task)
            accuracies = evaluate_seen_tasks(ctx)
            ctx.hook.after_val(ctx=ctx, task=task, accuracies=accuracies)
            eval_seconds.append(time.perf_counter() - start)
            width = len(stream)
            for p in PROTOCOLS:
                matrices[p].append(accuracies[p] + [None] * (width - t - 1))
            ctx.log("val", task=t, accuracies=accuracies)
            self.echo(
                f"task {t + 1}/{len(stream)} classes {list(task.classes)}: {len(times)} iters in {sum(times):.1f}s, "
                f"task-IL avg {statistics.fmean(accuracies['task-il']):.2f}%, "
                f"class-IL avg {statistics.fmean(accuracies['class-il']):.2f}%"
            )
            metrics = self._metrics(ctx, matrices, iter_seconds, data_seconds, task_seconds, eval_seconds)
            write_metrics(ctx.run_dir, metrics)
        ctx.hook.after_run(ctx=ctx, metrics=metrics)
        write_metrics(ctx.run_dir, metrics)
        ctx.log("run_end", summary=metrics["summary"])
        return RunResult(run_dir=ctx.run_dir, metrics=metrics)

    def _train_task(self, ctx: RunContext, builder: BatchBuilder) -> tuple[list[float], list[float]]:
        train = ctx.config.train
        sync = torch.cuda.synchronize if ctx.device.type == "cuda" else (lambda: None)
        times, data_times = [], []
        ctx.model.train()
        for k in range(train.iters_per_task):
            ctx.task_iter = k
            start = time.perf_counter()
            epoch, offset = divmod(k, train.virtual_epoch_iters)
            if offset == 0:
                ctx.hook.before_epoch(ctx=ctx, epoch=epoch)
            batch = builder.next(ctx.method.unlabeled_views(ctx))
            sync()
            data_time = time.perf_counter() - start
            ctx.hook.before_iter(ctx=ctx, batch=batch)
            lr = train.lr_at(k)
            for group in ctx.optimizer.param_groups:
                group["lr"] = lr
            losses = ctx.method.forward_train(batch, ctx)
            total = sum(losses.values())
            ctx.optimizer.zero_grad(set_to_none=True)
            if torch.is_tensor(total) and total.requires_grad:
                total.backward()
                if train.grad_clip_norm is not None:
                    torch.nn.utils.clip_grad_norm_(ctx.model.parameters(), train.grad_clip_norm)
                ctx.optimizer.step()
            values = {name: float(value.detach()) for name, value in losses.items()}
            ctx.hook.after_iter(ctx=ctx, batch=batch, losses=values)
            if offset == train.virtual_epoch_iters - 1 or k == train.iters_per_task - 1:
                ctx.hook.after_epoch(ctx=ctx, epoch=epoch)
            ctx.global_iter += 1
            sync()
            times.append(time.perf_counter() - start)
            data_times.append(data_time)
            if k % train.log_every == 0 or k == train.iters_per_task - 1:
                ctx.log("iter", task=ctx.task_index, iter=k, lr=lr, losses=values)
        return times, data_times

    def _metrics(
        self,
        ctx: RunContext,
        matrices: dict[str, Matrix],
        iter_seconds: list[list[float]],
        data_seconds: list[list[float]],
        task_seconds: list[float],
        eval_seconds: list[float],
    ) -> dict[str, Any]:
        flat = [s for task in iter_seconds for s in task]
        flat_data = [s for task in data_seconds for s in task]
        pool = ctx.memory_pool
        return {
            "method": ctx.method.name,
            "dataset": type(self.components.dataset).name,
            "backbone": type(self.components.backbone).name,
            "scenario": ctx.stream.scenario,
            "seed": ctx.config.seed,
            "tasks_done": len(task_seconds),
            "accuracy": matrices,
            "summary": {p: summarize(matrices[p]) for p in PROTOCOLS},
            "timing": {
                "median_iteration_seconds": statistics.median(flat),
                "mean_iteration_seconds": statistics.fmean(flat),
                "data_share": sum(flat_data) / sum(flat) if sum(flat) else 0.0,
                "total_train_seconds": sum(task_seconds),
                "task_train_seconds": task_seconds,
                "eval_seconds": eval_seconds,
                "iteration_seconds": iter_seconds,
                "data_seconds": data_seconds,
            },
            "memory": {
                "peak_rss_bytes": peak_rss_bytes(),
                "pool_samples": len(pool) if pool is not None else 0,
                "pool_ram_bytes": pool.ram_bytes() if pool is not None else 0,
                "pool_disk_bytes": pool.disk_bytes() if pool is not None else 0,
            },
            "model": {"parameters": count_parameters(ctx.model)},
            "machine": machine_info(ctx.device),
        }
