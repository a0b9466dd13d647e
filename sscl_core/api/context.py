"""The run context handed to every method and hook."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import torch
from torch import nn

from sscl_core.api.task import Task, TaskStream

FILES_DIR = "files"
"""Folder of the files that components' states refer to, in the run directory (``ctx.files_dir(name)``);
removed when the run ends unless ``keep_pool_disk`` keeps it."""

if TYPE_CHECKING:
    from sscl_core.api.backbone import Backbone
    from sscl_core.api.memory import MemoryPool
    from sscl_core.api.method import Method
    from sscl_core.config.run_config import RunConfig
    from sscl_core.run.events import EventLog


@attrs.define(eq=False)
class RunContext:
    """The state of a run: config, stream, model, optimizer, device, counters, hooks and event log; ``task_iter``
    restarts with every task, ``global_iter`` counts all iterations (docs/hooks.md, "What the hooks can reach")."""

    config: RunConfig
    stream: TaskStream
    model: nn.Module
    method: Method
    backbone: Backbone | None
    device: torch.device
    generator: torch.Generator
    hook: Any
    events: EventLog
    run_dir: Path
    memory_pool: MemoryPool | None = None
    optimizer: torch.optim.Optimizer | None = None
    task: Task | None = None
    task_index: int = -1
    task_iter: int = 0
    global_iter: int = 0

    def files_dir(self, name: str) -> Path:
        """A folder of the run for the files a component's state refers to (``name``: by convention the component's)."""
        return self.run_dir / FILES_DIR / name

    @property
    def pool_dir(self) -> Path:
        """The folder for the memory pool's disk tier: ``files_dir("memory_pool")``."""
        return self.files_dir("memory_pool")

    def rebuild_optimizer(self) -> None:
        """A new optimizer (``train.optimizer``) over the model's trainable parameters (after a method grew or
        froze them)."""
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = self.config.train.make_optimizer(params, self.task_iter)

    def seen_classes(self) -> list[int]:
        """Classes of every task up to and including the current one."""
        return self.stream.classes_up_to(self.task_index)

    def log(self, event: str, **fields: Any) -> None:
        """Append an event to the run's events.jsonl."""
        self.events.write(event, **fields)
