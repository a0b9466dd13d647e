"""Checkpoints of one run: written after every task, put back when it resumes, marked finished at its end."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sscl_core.api.context import RunContext
from sscl_core.run.checkpoint import (
    Manifest,
    pool_snapshot_dir,
    read_manifest,
    save_checkpoint,
    write_manifest,
)
from sscl_core.run.pool_disk import clear_pool_dir, restore_pool_files, snapshot_pool_files
from sscl_core.run.resume import config_sha256
from sscl_core.run.run_state import Members, Progress, capture_state, restore_state


class Checkpointer:
    """Writes and restores a run's checkpoints, with the memory pool's disk files beside them.

    ``tasks_checkpointed`` is the number of tasks the newest checkpoint holds (what a failed run can resume from).
    """

    def __init__(self) -> None:
        self.tasks_checkpointed = 0
        self._pool_snapshot: tuple[Path, dict[str, str]] | None = None

    def save(self, ctx: RunContext, members: Members, progress: Progress, resolved: dict[str, Any]) -> Manifest:
        """Write the checkpoint after the task just evaluated (with the pool's disk files, if any)."""
        start = time.perf_counter()
        done = progress.tasks_done
        state = capture_state(ctx, members, progress, resolved)
        if ctx.memory_pool is not None:
            snapshot = pool_snapshot_dir(ctx.run_dir, done)
            sums = snapshot_pool_files(ctx.memory_pool, ctx.pool_dir, snapshot, self._pool_snapshot)
            state["pool_files"] = sums
            self._pool_snapshot = (snapshot, sums)
        keep = ctx.config.keep_checkpoints
        manifest = save_checkpoint(ctx.run_dir, state, done, config_sha256(resolved), keep)
        self.tasks_checkpointed = done
        ctx.log("checkpoint", tasks_done=done, file=manifest.file, seconds=time.perf_counter() - start)
        return manifest

    def restore(self, ctx: RunContext, members: Members, checkpoint: dict[str, Any]) -> Progress:
        """Put the checkpoint back (after before_run); the pool's disk files return right before its state."""
        done = checkpoint["tasks_done"]
        sums = checkpoint.get("pool_files") or {}
        snapshot = pool_snapshot_dir(ctx.run_dir, done)
        progress = restore_state(ctx, members, checkpoint, lambda: restore_pool_files(snapshot, sums, ctx.pool_dir))
        if ctx.memory_pool is not None:
            self._pool_snapshot = (snapshot, sums)
        ctx.task_index = done - 1
        ctx.task = ctx.stream.tasks[done - 1]
        self.tasks_checkpointed = progress.tasks_done
        return progress

    def finish(self, ctx: RunContext) -> None:
        """Mark the last checkpoint finished and remove the pool's disk tier unless the config keeps it."""
        manifest = read_manifest(ctx.run_dir)
        if manifest is not None:
            manifest.finished = True
            write_manifest(ctx.run_dir, manifest)
        if not ctx.config.keep_pool_disk:
            clear_pool_dir(ctx.pool_dir)
            if manifest is not None:
                clear_pool_dir(pool_snapshot_dir(ctx.run_dir, manifest.tasks_done))
