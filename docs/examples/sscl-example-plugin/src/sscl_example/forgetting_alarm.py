"""A callback that reports tasks the model is forgetting."""

from __future__ import annotations

import attrs

from sscl_core import Callback, RunContext, Task, component, hookimpl, param


@component
class ForgettingAlarm(Callback):
    """After each evaluation, log a `forgetting_alarm` event per task that fell `threshold` points below its best."""

    name = "forgetting-alarm"
    threshold: float = param(
        10.0, help="accuracy drop (points) that raises the alarm", validator=attrs.validators.ge(0.0)
    )
    protocol: str = param("task-il", help="which accuracy to watch: task-il or class-il")

    @hookimpl
    def before_run(self, ctx: RunContext) -> None:
        """Start with no best accuracies."""
        self.best: dict[int, float] = {}

    @hookimpl
    def after_val(self, ctx: RunContext, task: Task, accuracies: dict[str, list[float]]) -> None:
        """Compare each seen task's accuracy with its best so far."""
        for task_id, accuracy in enumerate(accuracies[self.protocol]):
            best = max(self.best.get(task_id, accuracy), accuracy)
            self.best[task_id] = best
            if best - accuracy > self.threshold:
                ctx.log("forgetting_alarm", task=task_id, best=best, now=accuracy, after_task=task.id)
