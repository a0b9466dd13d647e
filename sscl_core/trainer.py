"""The iteration-based trainer: the loop, the optimizer step, the clock and the lifecycle hooks."""

from __future__ import annotations

import os
import platform
import resource
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import attrs
import torch
from tqdm import tqdm

from sscl_core.backbone import ClassifierModel
from sscl_core.checkpoint import (
    Manifest,
    load_checkpoint,
    pool_snapshot_dir,
    prune_checkpoints,
    read_manifest,
    save_checkpoint,
    write_manifest,
)
from sscl_core.config import RunConfig, read_yaml
from sscl_core.context import RunContext
from sscl_core.cost import model_cost
from sscl_core.errors import SsclError
from sscl_core.evaluation import PROTOCOLS, Matrix, evaluate_seen_tasks, summarize
from sscl_core.events import EventLog
from sscl_core.interrupt import RunInterrupted, StopSignals
from sscl_core.lifecycle import component_of, lifecycle_manager, members, unregister_all
from sscl_core.method import UNLABELED_VIEWS
from sscl_core.plugin_errors import PluginError, RunEndError, blame, watch_hooks
from sscl_core.pool_disk import clear_pool_dir, restore_pool_files, snapshot_pool_files, verify_pool_files
from sscl_core.registry import Registry
from sscl_core.resolve import Components, resolve_components, resolve_device
from sscl_core.resume import check_same_config, config_sha256, resume_command
from sscl_core.run_state import Members, Progress, capture_state, restore_state
from sscl_core.rundir import CONFIG_FILE, EVENTS_FILE, create_run_dir, default_run_name, write_config, write_metrics
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


def lifecycle_roles(components: Components) -> list[tuple[str, Any]]:
    """The run's lifecycle members in registration order, each with its role (``None``: not selected)."""
    roles = [
        ("method", components.method),
        ("unlabeled_loss", components.unlabeled),
        ("memory_pool", components.memory_pool),
    ]
    roles += [(f"callback{i}", c) for i, c in enumerate(components.callbacks)]
    roles.append(("active_learning", components.active_learning))
    return roles


class Trainer:
    """Runs one config end to end and writes its run directory; checkpoints after every task.

    ``Trainer(config, registry).run()`` starts a new run; ``Trainer.resume(run_dir, config, registry).run()``
    continues one after its last checkpoint (see :mod:`sscl_core.run_state` for what is restored, in order).
    SIGINT and SIGTERM stop the run after the current iteration with :class:`RunInterrupted`.
    """

    def __init__(
        self,
        config: RunConfig,
        registry: Registry,
        echo: Callable[[str], None] | None = None,
        progress_bar: bool = False,
    ) -> None:
        self.config = config
        self.registry = registry
        self.echo = echo or (lambda _line: None)
        self.progress_bar = progress_bar
        self._bar: tqdm | None = None
        self.components = resolve_components(config, registry)
        self.resume_dir: Path | None = None
        self.checkpoint: dict[str, Any] | None = None
        self.progress = Progress()
        self.tasks_checkpointed = 0
        self._pool_snapshot: tuple[Path, dict[str, str]] | None = None

    @classmethod
    def resume(
        cls,
        run_dir: Path,
        config: RunConfig,
        registry: Registry,
        echo: Callable[[str], None] | None = None,
        progress_bar: bool = False,
    ) -> Trainer:
        """A trainer that continues the run in ``run_dir`` after its last checkpoint (from the first task if
        none was written); refused in one line when ``config`` differs from the run's or the checkpoint is
        damaged, tampered with or finished."""
        manifest = read_manifest(run_dir)
        if manifest is not None and manifest.finished:
            raise SsclError(
                f"--resume {run_dir}: the run finished all its tasks already; start a new run to train again"
            )
        checkpoint = load_checkpoint(run_dir, manifest) if manifest is not None else None
        trainer = cls(config, registry, echo, progress_bar)
        run_config = checkpoint["config"] if checkpoint is not None else read_yaml(run_dir / CONFIG_FILE)
        check_same_config(run_dir, run_config, trainer.components.resolved_config(config))
        if checkpoint is not None and checkpoint.get("pool_files"):
            verify_pool_files(pool_snapshot_dir(run_dir, manifest.tasks_done), checkpoint["pool_files"])
        trainer.resume_dir, trainer.checkpoint = run_dir, checkpoint
        return trainer

    def run(self) -> RunResult:
        """Train on every task in order (from the checkpoint on when resuming), evaluate and checkpoint after
        each, and return the metrics."""
        config, parts = self.config, self.components
        device = resolve_device(config.device)
        torch.manual_seed(config.seed)
        stream = parts.dataset.build_stream(config.seed)
        if stream.left_out_classes:
            self.echo(f"training without classes {list(stream.left_out_classes)}, as the dataset's config says")
        model = ClassifierModel(parts.backbone.build(stream.input_shape), stream.num_classes).to(device)
        pm = lifecycle_manager(lifecycle_roles(parts))
        watch_hooks(pm, lambda plugin: self._describe(component_of(plugin), fallback=f"'{pm.get_name(plugin)}'"))
        resolved = parts.resolved_config(config)
        if self.resume_dir is not None:
            run_dir = self.resume_dir
            prune_checkpoints(run_dir, read_manifest(run_dir))
        else:
            run_name = config.run_name or default_run_name(type(parts.dataset).name, parts.method_label(), config.seed)
            run_dir = create_run_dir(config.output_dir, run_name)
            write_config(run_dir, resolved, stream.left_out_classes)
        events = EventLog(run_dir / EVENTS_FILE)
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
            with StopSignals() as stop:
                return self._train(ctx, members(pm), stop, resolved)
        except RunInterrupted as interrupted:
            interrupted.run_dir, interrupted.tasks = run_dir, len(stream)
            interrupted.tasks_done = self.tasks_checkpointed
            ctx.log("run_interrupted", signal=interrupted.signum, tasks_done=self.tasks_checkpointed)
            raise
        except Exception as error:
            ctx.log("run_failed", error=f"{type(error).__name__}: {error}", traceback=_traceback_text(error))
            if isinstance(error, SsclError) and self.tasks_checkpointed:
                error.args = (
                    f"{error}; the checkpoint after task {self.tasks_checkpointed} is intact: fix the cause and "
                    f"resume with '{resume_command(run_dir)}'",
                )
            raise
        finally:
            events.close()
            unregister_all(pm)

    def _train(self, ctx: RunContext, members: Members, stop: StopSignals, resolved: dict[str, Any]) -> RunResult:
        train, stream = ctx.config.train, ctx.stream
        clear_pool_dir(ctx.pool_dir)
        if self.resume_dir is None:
            ctx.log(
                "run_start",
                tasks=len(stream),
                scenario=stream.scenario,
                method=self.components.method_label(),
                left_out_classes=list(stream.left_out_classes),
            )
        else:
            done = self.checkpoint["tasks_done"] if self.checkpoint is not None else 0
            ctx.log("run_resume", tasks=len(stream), tasks_done=done, global_iter=ctx.global_iter)
        ctx.hook.before_run(ctx=ctx)
        if self.checkpoint is not None:
            self.progress = self._restore(ctx, members, self.checkpoint)
            self.tasks_checkpointed = self.progress.tasks_done
        progress = self.progress
        self._bar = tqdm(
            total=len(stream) * train.iters_per_task,
            initial=progress.tasks_done * train.iters_per_task,
            unit="it",
            disable=None if self.progress_bar else True,
            leave=False,
            dynamic_ncols=True,
            file=sys.stderr,
        )
        with self._bar:
            return self._train_tasks(ctx, members, stop, resolved)

    def _say(self, line: str) -> None:
        """Echo a line above the progress bar (or plainly, without one)."""
        if self._bar is not None and not self._bar.disable:
            self._bar.write(line)
        else:
            self.echo(line)

    def _train_tasks(self, ctx: RunContext, members: Members, stop: StopSignals, resolved: dict[str, Any]) -> RunResult:
        train, stream, progress = ctx.config.train, ctx.stream, self.progress
        for t in range(progress.tasks_done, len(stream)):
            stop.check()
            task = stream.tasks[t]
            ctx.task, ctx.task_index, ctx.task_iter = task, t, 0
            ctx.log("task_start", task=t, classes=list(task.classes))
            ctx.hook.before_task(ctx=ctx, task=task)
            builder = BatchBuilder(task, stream.transforms, train.batch_size, train.uratio, ctx.device, ctx.generator)
            times, data_times = self._train_task(ctx, builder, stop)
            ctx.hook.after_task(ctx=ctx, task=task)
            start = time.perf_counter()
            ctx.hook.before_val(ctx=ctx, task=task)
            accuracies = evaluate_seen_tasks(ctx)
            ctx.hook.after_val(ctx=ctx, task=task, accuracies=accuracies)
            eval_time = time.perf_counter() - start
            width = len(stream)
            matrices = progress.matrices
            for p in PROTOCOLS:
                matrices[p].append(accuracies[p] + [None] * (width - t - 1))
            progress.iter_seconds.append(times)
            progress.data_seconds.append(data_times)
            progress.task_seconds.append(sum(times))
            progress.eval_seconds.append(eval_time)
            ctx.log("val", task=t, accuracies=accuracies)
            self._say(
                f"task {t + 1}/{len(stream)} classes {list(task.classes)}: {len(times)} iters in {sum(times):.1f}s, "
                f"task-IL avg {statistics.fmean(accuracies['task-il']):.2f}%, "
                f"class-IL avg {statistics.fmean(accuracies['class-il']):.2f}%"
            )
            self._checkpoint(ctx, members, resolved)
            write_metrics(ctx.run_dir, self._progress_metrics(ctx))
        metrics = self._progress_metrics(ctx)
        try:
            ctx.hook.after_run(ctx=ctx, metrics=metrics)
            write_metrics(ctx.run_dir, metrics)
        except PluginError as error:
            raise RunEndError(str(error)) from error.__cause__
        except SsclError:
            raise
        except Exception as error:
            raise RunEndError(f"after the last task: {type(error).__name__}: {error}") from error
        self._finish(ctx)
        ctx.log("run_end", summary=metrics["summary"])
        return RunResult(run_dir=ctx.run_dir, metrics=metrics)

    def _progress_metrics(self, ctx: RunContext) -> dict[str, Any]:
        p = self.progress
        return self._metrics(ctx, p.matrices, p.iter_seconds, p.data_seconds, p.task_seconds, p.eval_seconds)

    def _checkpoint(self, ctx: RunContext, members: Members, resolved: dict[str, Any]) -> Manifest:
        """Write the checkpoint after the task just evaluated (with the pool's disk files, if any)."""
        start = time.perf_counter()
        done = self.progress.tasks_done
        state = capture_state(ctx, members, self.progress, resolved)
        if ctx.memory_pool is not None:
            snapshot = pool_snapshot_dir(ctx.run_dir, done)
            sums = snapshot_pool_files(ctx.memory_pool, ctx.pool_dir, snapshot, self._pool_snapshot)
            state["pool_files"] = sums
            self._pool_snapshot = (snapshot, sums)
        manifest = save_checkpoint(ctx.run_dir, state, done, config_sha256(resolved))
        self.tasks_checkpointed = done
        ctx.log("checkpoint", tasks_done=done, file=manifest.file, seconds=time.perf_counter() - start)
        return manifest

    def _restore(self, ctx: RunContext, members: Members, checkpoint: dict[str, Any]) -> Progress:
        """Put the checkpoint back (after before_run); the pool's disk files return right before its state."""
        done = checkpoint["tasks_done"]
        sums = checkpoint.get("pool_files") or {}
        snapshot = pool_snapshot_dir(ctx.run_dir, done)
        progress = restore_state(ctx, members, checkpoint, lambda: restore_pool_files(snapshot, sums, ctx.pool_dir))
        if ctx.memory_pool is not None:
            self._pool_snapshot = (snapshot, sums)
        ctx.task_index = done - 1
        ctx.task = ctx.stream.tasks[done - 1]
        return progress

    def _finish(self, ctx: RunContext) -> None:
        """Mark the last checkpoint finished and remove the pool's disk tier unless the config keeps it."""
        manifest = read_manifest(ctx.run_dir)
        if manifest is not None:
            manifest.finished = True
            write_manifest(ctx.run_dir, manifest)
        if not ctx.config.keep_pool_disk:
            clear_pool_dir(ctx.pool_dir)
            if manifest is not None:
                clear_pool_dir(pool_snapshot_dir(ctx.run_dir, manifest.tasks_done))

    def _describe(self, component: object, fallback: str) -> str:
        """A component as an error message names it: kind, name and distribution (``fallback`` if unregistered)."""
        for kind, entries in self.registry.components.items():
            for name, entry in entries.items():
                if entry.cls is type(component):
                    return f"{kind} '{name}' (from {entry.distribution})"
        return fallback

    def _train_task(self, ctx: RunContext, builder: BatchBuilder, stop: StopSignals) -> tuple[list[float], list[float]]:
        train = ctx.config.train
        method = self._describe(ctx.method, fallback=f"method '{ctx.method.name}'")
        unlabeled = self.components.unlabeled
        if unlabeled is not None:
            loss_name = self._describe(unlabeled, fallback=f"unlabeled loss '{unlabeled.name}'")
        sync = torch.cuda.synchronize if ctx.device.type == "cuda" else (lambda: None)
        times, data_times = [], []
        ctx.model.train()
        for k in range(train.iters_per_task):
            ctx.task_iter = k
            start = time.perf_counter()
            epoch, offset = divmod(k, train.virtual_epoch_iters)
            if offset == 0:
                ctx.hook.before_epoch(ctx=ctx, epoch=epoch)
            views = ctx.method.unlabeled_views(ctx)
            weight = unlabeled.weight_at(k, train.iters_per_task) if unlabeled is not None else 0.0
            if weight > 0:
                views = tuple(v for v in UNLABELED_VIEWS if v in views or v in unlabeled.views)
            batch = builder.next(views)
            sync()
            data_time = time.perf_counter() - start
            ctx.hook.before_iter(ctx=ctx, batch=batch)
            lr = train.lr_at(k)
            for group in ctx.optimizer.param_groups:
                group["lr"] = lr
            with blame(method, "forward_train"):
                losses = ctx.method.forward_train(batch, ctx)
            if weight > 0:
                with blame(loss_name, "losses"):
                    extra = unlabeled.losses(batch, ctx)
                if extra.keys() & losses.keys():
                    raise SsclError(
                        f"{loss_name} returns losses named like the method's: {sorted(extra.keys() & losses.keys())}"
                    )
                losses.update({name: weight * value for name, value in extra.items()})
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
            self._bar.update()
            if k % train.log_every == 0 or k == train.iters_per_task - 1:
                ctx.log("iter", task=ctx.task_index, iter=k, lr=lr, losses=values)
            stop.check()
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
            "method": self.components.method_label(),
            "dataset": type(self.components.dataset).name,
            "backbone": type(self.components.backbone).name,
            "scenario": ctx.stream.scenario,
            "seed": ctx.config.seed,
            "tasks_done": len(task_seconds),
            "left_out_classes": list(ctx.stream.left_out_classes),
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
            "model": {**model_cost(ctx.model, ctx.stream.input_shape), "input_shape": list(ctx.stream.input_shape)},
            "machine": machine_info(ctx.device),
        }


def _traceback_text(error: BaseException) -> str:
    """The traceback of ``error`` (of its cause, for errors that only name a plugin's failure)."""
    shown = error.__cause__ or error
    return "".join(traceback.format_exception(type(shown), shown, shown.__traceback__))
