"""Checkpoints of one run: written after every task, put back when it resumes, marked finished at its end."""

import time
from pathlib import Path
from typing import Any

from sscl_core.api.context import FILES_DIR, RunContext
from sscl_core.run.checkpoint import Manifest, files_snapshot_dir, read_manifest, save_checkpoint, write_manifest
from sscl_core.run.component_files import Sums, clear_files, restore_files, snapshot_files
from sscl_core.run.resume import config_sha256
from sscl_core.run.run_state import Members, Progress, capture_state, restore_state


class Checkpointer:
    """Writes and restores a run's checkpoints and components' files (``tasks_checkpointed``: the newest's tasks)."""

    def __init__(self) -> None:
        self.tasks_checkpointed = 0
        self._snapshot: tuple[Path, Sums] | None = None

    def save(self, ctx: RunContext, members: Members, progress: Progress, resolved: dict[str, Any]) -> Manifest:
        """Write the checkpoint after the task just evaluated (with the components' files, if any)."""
        start = time.perf_counter()
        done = progress.tasks_done
        state = capture_state(ctx, members, progress, resolved)
        snapshot = files_snapshot_dir(ctx.run_dir, done)
        state["files"] = snapshot_files(list(members), ctx.run_dir, snapshot, self._snapshot)
        self._snapshot = (snapshot, state["files"])
        keep = ctx.config.keep_checkpoints
        manifest = save_checkpoint(ctx.run_dir, state, done, config_sha256(resolved), keep)
        self.tasks_checkpointed = done
        ctx.log("checkpoint", tasks_done=done, file=manifest.file, seconds=time.perf_counter() - start)
        return manifest

    def restore(self, ctx: RunContext, members: Members, checkpoint: dict[str, Any]) -> Progress:
        """Put the checkpoint back (after before_run); each member's files return right before its state."""
        done = checkpoint["tasks_done"]
        sums: Sums = checkpoint["files"]
        snapshot = files_snapshot_dir(ctx.run_dir, done)
        clear_files(ctx.run_dir / FILES_DIR)
        progress = restore_state(
            ctx, members, checkpoint, lambda name: restore_files(snapshot, sums.get(name, {}), ctx.run_dir)
        )
        self._snapshot = (snapshot, sums)
        ctx.task_index = done - 1
        ctx.task = ctx.stream.tasks[done - 1]
        self.tasks_checkpointed = progress.tasks_done
        return progress

    def finish(self, ctx: RunContext) -> None:
        """Mark the last checkpoint finished and remove the components' files unless the config keeps them."""
        manifest = read_manifest(ctx.run_dir)
        if manifest is not None:
            manifest.finished = True
            write_manifest(ctx.run_dir, manifest)
        if not ctx.config.keep_pool_disk:
            clear_files(ctx.run_dir / FILES_DIR)
            if manifest is not None:
                clear_files(files_snapshot_dir(ctx.run_dir, manifest.tasks_done))
