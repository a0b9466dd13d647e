"""A run directory's model after one of its tasks, put back for inference together with what evaluates it.

The run's config is resolved again, its stream rebuilt (for the test images, the preprocessing and the class
names), its model built, the method's ``before_run`` called (a method may replace the model, as PNN does), then
the method's state and the model's weights are loaded from the checkpoint. Only the method takes part: the
memory pool, callbacks and active learning have no say in the outputs the evaluator scores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import torch
from torch import Tensor

from sscl_core import RunContext, SsclError
from sscl_core.api.dataset import place_cache
from sscl_core.classification import PROBLEM
from sscl_core.classification.model import masked_logits
from sscl_core.config.run_config import load_config
from sscl_core.library.batches import test_views
from sscl_core.plugins.lifecycle import lifecycle_manager, unregister_all
from sscl_core.plugins.registry import Registry
from sscl_core.run.checkpoint import Manifest, checkpoint_file, file_sha256, load_checkpoint, read_manifest
from sscl_core.run.resolve import resolve_components
from sscl_core.run.rundir import CONFIG_FILE


class NoEvents:
    """An event log that keeps nothing: restoring a run must not append to its events.jsonl."""

    def write(self, event: str, **fields: Any) -> None:
        """Drop the event."""


@attrs.define(eq=False)
class RestoredRun:
    """A run's model after ``tasks_done`` tasks, in eval mode on the CPU, with the context its method reads."""

    run_dir: Path
    tasks_done: int
    ctx: RunContext

    @property
    def seen_classes(self) -> list[int]:
        """The classes of the tasks learned so far: the ones the class-IL evaluation predicts among."""
        return self.ctx.stream.classes_up_to(self.tasks_done - 1)

    @property
    def class_names(self) -> list[str]:
        """A name for every class id of the stream (the id itself where the dataset names none)."""
        names = self.ctx.stream.class_names
        return [names[i] if i < len(names) else str(i) for i in range(self.ctx.stream.num_classes)]

    def eval_outputs(self, x: Tensor) -> Tensor:
        """What the class-IL evaluation scores for preprocessed images ``x``: the method's ``eval_logits``
        without a task id, classes not learned yet set to -inf."""
        return masked_logits(self.ctx.method.eval_logits(x, None, self.ctx), self.seen_classes)

    @torch.no_grad()
    def framework_outputs(self, images: Tensor) -> Tensor:
        """:meth:`eval_outputs` of uint8 images the way the evaluator computes them (the stream's test view, in
        batches of ``train.eval_batch_size``)."""
        return torch.cat([self.eval_outputs(x) for _rows, x in test_views(self.ctx, images)])

    def test_images(self, limit: int) -> Tensor:
        """Up to ``limit`` test images of the tasks learned, spread evenly over them."""
        tasks = self.ctx.stream.tasks[: self.tasks_done]
        share = -(-limit // len(tasks))
        return torch.cat([task.test_x[:share] for task in tasks])[:limit]


def check_run_dir(path: str | Path) -> Path:
    """``path`` as a run directory; refused in one line unless it exists and holds a run's config.yaml."""
    run_dir = Path(path)
    if not run_dir.is_dir():
        raise SsclError(f"{run_dir}: no such run directory: give the folder 'sscl run' printed as its run directory")
    if not (run_dir / CONFIG_FILE).is_file():
        raise SsclError(f"{run_dir} is not an sscl run directory (it has no {CONFIG_FILE}): give a run's folder")
    return run_dir


def checkpoint_after(run_dir: Path, task: int | None) -> Manifest:
    """The checkpoint after task ``task`` (1-based; None: the latest), refused in one line when there is none."""
    manifest = read_manifest(run_dir)
    if manifest is None:
        raise SsclError(
            f"{run_dir} has no checkpoint: no task finished yet; train one first (sscl run --resume {run_dir})"
        )
    if task is None or task == manifest.tasks_done:
        return manifest
    path = checkpoint_file(run_dir, task)
    if task < 1 or task > manifest.tasks_done:
        raise SsclError(f"--task {task}: the run has finished tasks 1..{manifest.tasks_done}: give one of those")
    if not path.is_file():
        raise SsclError(
            f"--task {task}: {run_dir} has no checkpoint after task {task} (a run keeps only its latest, after task "
            f"{manifest.tasks_done}, unless keep_checkpoints is true): leave out --task, or train with --set "
            "keep_checkpoints=true"
        )
    relative = path.relative_to(run_dir).as_posix()
    return Manifest(task, relative, file_sha256(path), manifest.config_sha256)


def restore_run(path: str | Path, task: int | None, registry: Registry) -> RestoredRun:
    """The model of the run in ``path`` after task ``task`` (None: its latest checkpoint), ready for inference."""
    run_dir = check_run_dir(path)
    manifest = checkpoint_after(run_dir, task)
    state = load_checkpoint(run_dir, manifest)
    config = load_config(run_dir / CONFIG_FILE)
    if config.backbone is not None and config.backbone.get("weights") is not None:
        config.backbone = {**config.backbone, "weights": None}  # the checkpoint holds the trained weights
    parts = resolve_components(config, registry)
    if parts.dataset.problem != PROBLEM:
        raise SsclError(
            f"{run_dir} is a {parts.dataset.problem} run: sscl export and predict handle classification runs only"
        )
    torch.manual_seed(config.seed)
    place_cache(parts.dataset, run_dir.parent)
    stream = parts.dataset.build_stream(config.seed)
    ctx = RunContext(
        config=config,
        stream=stream,
        model=parts.model.build(stream, parts.backbone),
        method=parts.method,
        backbone=parts.backbone,
        device=torch.device("cpu"),
        generator=torch.Generator().manual_seed(config.seed),
        hook=None,
        events=NoEvents(),
        run_dir=run_dir,
        memory_pool=parts.memory_pool,
    )
    _load(ctx, state, manifest.tasks_done, run_dir)
    return RestoredRun(run_dir=run_dir, tasks_done=manifest.tasks_done, ctx=ctx)


def _load(ctx: RunContext, state: dict[str, Any], tasks_done: int, run_dir: Path) -> None:
    """The method's ``before_run`` and state, then the model's weights; the model left in eval mode."""
    pm = lifecycle_manager([("method", ctx.method)])
    ctx.hook = pm.hook
    try:
        pm.hook.before_run(ctx=ctx)
        method_state = state["components"].get(f"method:{type(ctx.method).name}")
        if method_state is not None:
            ctx.method.load_state_dict(method_state)
        ctx.model.load_state_dict(state["model"], strict=True)
    except (RuntimeError, KeyError, ValueError) as error:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise SsclError(f"{run_dir}: the checkpoint does not fit the run's config ({detail})") from None
    finally:
        unregister_all(pm)
    ctx.task_index, ctx.task = tasks_done - 1, ctx.stream.tasks[tasks_done - 1]
    ctx.model.eval()
