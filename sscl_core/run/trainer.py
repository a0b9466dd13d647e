"""The iteration-based trainer: the loop, the optimizer step and the lifecycle hooks; its collaborators keep the
checkpoints, metrics and console (docs/architecture.md, "The path of one sscl run")."""

from __future__ import annotations

import statistics
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import torch

from sscl_core.api.context import FILES_DIR, RunContext
from sscl_core.api.dataset import place_cache
from sscl_core.api.errors import SsclError
from sscl_core.api.method import UNLABELED_VIEWS
from sscl_core.config.run_config import RunConfig, read_yaml
from sscl_core.plugins.errors import PluginError, RunEndError, blame, watch_hooks
from sscl_core.plugins.lifecycle import component_of, lifecycle_manager, members, unregister_all
from sscl_core.plugins.registry import Registry
from sscl_core.run.checkpoint import files_snapshot_dir, load_checkpoint, prune_checkpoints, read_manifest
from sscl_core.run.checkpointer import Checkpointer
from sscl_core.run.component_files import clear_files, verify_files
from sscl_core.run.console import Console
from sscl_core.run.events import EventLog
from sscl_core.run.interrupt import RunInterrupted, StopSignals
from sscl_core.run.metrics import run_metrics
from sscl_core.run.resolve import Components, resolve_components, resolve_device
from sscl_core.run.resume import check_same_config, completed_record, resume_command
from sscl_core.run.run_state import Members, Progress
from sscl_core.run.rundir import CONFIG_FILE, EVENTS_FILE, create_run_dir, default_run_name, write_config, write_metrics
from sscl_core.run.sampling import BatchBuilder


@attrs.define
class RunResult:
    """Where a finished run wrote its outputs, and its metrics."""

    run_dir: Path
    metrics: dict[str, Any]


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
    """Runs one config end to end (``Trainer(config, registry).run()``, or ``Trainer.resume(run_dir, config,
    registry).run()`` after the last checkpoint); SIGINT and SIGTERM stop it after the current iteration."""

    def __init__(
        self,
        config: RunConfig,
        registry: Registry,
        echo: Callable[[str], None] | None = None,
        progress_bar: bool = False,
    ) -> None:
        self.config = config
        self.registry = registry
        self.console = Console(echo, progress_bar)
        self.components = resolve_components(config, registry)
        self.resume_dir: Path | None = None
        self.checkpoint: dict[str, Any] | None = None
        self.progress = Progress(matrices={metric: [] for metric in self.components.evaluator.metrics})
        self.checkpointer = Checkpointer()

    @classmethod
    def resume(
        cls,
        run_dir: Path,
        config: RunConfig,
        registry: Registry,
        echo: Callable[[str], None] | None = None,
        progress_bar: bool = False,
    ) -> Trainer:
        """A trainer that continues the run in ``run_dir`` after its last checkpoint; refused in one line when
        ``config`` differs from the run's or the checkpoint is damaged or finished."""
        manifest = read_manifest(run_dir)
        if manifest is not None and manifest.finished:
            raise SsclError(
                f"--resume {run_dir}: the run finished all its tasks already; start a new run to train again"
            )
        checkpoint = load_checkpoint(run_dir, manifest) if manifest is not None else None
        trainer = cls(config, registry, echo, progress_bar)
        run_config = checkpoint["config"] if checkpoint is not None else read_yaml(run_dir / CONFIG_FILE)
        recorded = completed_record(run_config, registry)
        check_same_config(run_dir, recorded, trainer.components.resolved_config(config))
        if checkpoint is not None:
            verify_files(files_snapshot_dir(run_dir, manifest.tasks_done), checkpoint.get("files", {}))
        trainer.resume_dir, trainer.checkpoint = run_dir, checkpoint
        return trainer

    def run(self) -> RunResult:
        """Train on every task in order (from the checkpoint on when resuming), evaluate and checkpoint after
        each, and return the metrics."""
        config, parts = self.config, self.components
        device = resolve_device(config.device)
        torch.manual_seed(config.seed)
        place_cache(parts.dataset, self.resume_dir.parent if self.resume_dir is not None else config.output_dir)
        stream = parts.dataset.build_stream(config.seed)
        if stream.left_out_classes:
            self.console.echo(f"training without classes {list(stream.left_out_classes)}, as the dataset's config says")
        model = parts.model.build(stream, parts.backbone).to(device)
        pm = lifecycle_manager(lifecycle_roles(parts))
        watch_hooks(pm, lambda plugin: self._describe(component_of(plugin), fallback=f"'{pm.get_name(plugin)}'"))
        resolved = parts.resolved_config(config)
        if self.resume_dir is not None:
            run_dir = self.resume_dir
            prune_checkpoints(run_dir, read_manifest(run_dir), config.keep_checkpoints)
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
        done = self.checkpointer
        try:
            with StopSignals() as stop:
                return self._train(ctx, members(pm), stop, resolved)
        except RunInterrupted as interrupted:
            interrupted.run_dir, interrupted.tasks = run_dir, len(stream)
            interrupted.tasks_done = done.tasks_checkpointed
            ctx.log("run_interrupted", signal=interrupted.signum, tasks_done=done.tasks_checkpointed)
            raise
        except Exception as error:
            ctx.log("run_failed", error=f"{type(error).__name__}: {error}", traceback=_traceback_text(error))
            if isinstance(error, SsclError) and done.tasks_checkpointed:
                error.args = (
                    f"{error}; the checkpoint after task {done.tasks_checkpointed} is intact: fix the cause and "
                    f"resume with '{resume_command(run_dir)}'",
                )
            raise
        finally:
            events.close()
            unregister_all(pm)

    def _train(self, ctx: RunContext, members: Members, stop: StopSignals, resolved: dict[str, Any]) -> RunResult:
        """``before_run`` (then the checkpoint put back, when resuming), every remaining task, ``after_run``."""
        train, stream = ctx.config.train, ctx.stream
        clear_files(ctx.run_dir / FILES_DIR)
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
            self.progress = self.checkpointer.restore(ctx, members, self.checkpoint)
        total, initial = len(stream) * train.iters_per_task, self.progress.tasks_done * train.iters_per_task
        with self.console.open_bar(total, initial):
            for t in range(self.progress.tasks_done, len(stream)):
                stop.check()
                self._learn_task(ctx, t, stop)
                self.checkpointer.save(ctx, members, self.progress, resolved)
                write_metrics(ctx.run_dir, run_metrics(self.components, ctx, self.progress))
        metrics = self._end_run(ctx)
        ctx.log("run_end", summary=metrics["summary"])
        return RunResult(run_dir=ctx.run_dir, metrics=metrics)

    def _learn_task(self, ctx: RunContext, t: int, stop: StopSignals) -> None:
        """Train task ``t``, evaluate every task seen so far and add both to the progress."""
        train, stream, progress, evaluator = ctx.config.train, ctx.stream, self.progress, self.components.evaluator
        task = stream.tasks[t]
        ctx.task, ctx.task_index, ctx.task_iter = task, t, 0
        ctx.log("task_start", task=t, classes=list(task.classes))
        ctx.hook.before_task(ctx=ctx, task=task)
        builder = BatchBuilder(task, stream.transforms, train.batch_size, train.uratio, ctx.device, ctx.generator)
        times, data_times = self._train_task(ctx, builder, stop)
        ctx.hook.after_task(ctx=ctx, task=task)
        start = time.perf_counter()
        ctx.hook.before_val(ctx=ctx, task=task)
        scores = evaluator.evaluate(ctx)
        ctx.hook.after_val(ctx=ctx, task=task, scores=scores, accuracies=scores)
        eval_time = time.perf_counter() - start
        for metric in evaluator.metrics:
            progress.matrices[metric].append(scores[metric] + [None] * (len(stream) - t - 1))
        progress.iter_seconds.append(times)
        progress.data_seconds.append(data_times)
        progress.task_seconds.append(sum(times))
        progress.eval_seconds.append(eval_time)
        ctx.log("val", task=t, accuracies=scores)
        averages = ", ".join(f"{m} avg {statistics.fmean(v):.2f}{evaluator.unit}" for m, v in scores.items())
        self.console.say(
            f"task {t + 1}/{len(stream)} classes {list(task.classes)}: {len(times)} iters in {sum(times):.1f}s, "
            f"{averages}"
        )

    def _end_run(self, ctx: RunContext) -> dict[str, Any]:
        """``after_run`` and the final metrics.json; a failure here keeps every result (exit code 1)."""
        metrics = run_metrics(self.components, ctx, self.progress)
        try:
            ctx.hook.after_run(ctx=ctx, metrics=metrics)
            write_metrics(ctx.run_dir, metrics)
        except PluginError as error:
            raise RunEndError(str(error)) from error.__cause__
        except SsclError:
            raise
        except Exception as error:
            raise RunEndError(f"after the last task: {type(error).__name__}: {error}") from error
        self.checkpointer.finish(ctx)
        return metrics

    def _describe(self, component: object, fallback: str) -> str:
        """A component as an error message names it: kind, name and distribution (``fallback`` if unregistered)."""
        for kind, entries in self.registry.components.items():
            for name, entry in entries.items():
                if entry.cls is type(component):
                    return f"{kind} '{name}' (from {entry.distribution})"
        return fallback

    def _train_task(self, ctx: RunContext, builder: BatchBuilder, stop: StopSignals) -> tuple[list[float], list[float]]:
        """The task's iterations; returns each one's wall time and data time."""
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
            values = _step(ctx, losses)
            ctx.hook.after_iter(ctx=ctx, batch=batch, losses=values)
            if offset == train.virtual_epoch_iters - 1 or k == train.iters_per_task - 1:
                ctx.hook.after_epoch(ctx=ctx, epoch=epoch)
            ctx.global_iter += 1
            sync()
            times.append(time.perf_counter() - start)
            data_times.append(data_time)
            self.console.advance()
            if k % train.log_every == 0 or k == train.iters_per_task - 1:
                ctx.log("iter", task=ctx.task_index, iter=k, lr=lr, losses=values)
            stop.check()
        return times, data_times


def _step(ctx: RunContext, losses: dict[str, Any]) -> dict[str, float]:
    """Backpropagate the sum of ``losses`` and take the optimizer step; the losses as floats."""
    total = sum(losses.values())
    ctx.optimizer.zero_grad(set_to_none=True)
    if torch.is_tensor(total) and total.requires_grad:
        total.backward()
        if ctx.config.train.grad_clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(ctx.model.parameters(), ctx.config.train.grad_clip_norm)
        ctx.optimizer.step()
    return {name: float(value.detach()) for name, value in losses.items()}


def _traceback_text(error: BaseException) -> str:
    """The traceback of ``error`` (of its cause, for errors that only name a plugin's failure)."""
    shown = error.__cause__ or error
    return "".join(traceback.format_exception(type(shown), shown, shown.__traceback__))
