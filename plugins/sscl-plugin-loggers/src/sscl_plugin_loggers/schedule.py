"""When the loggers write a training iteration."""

from __future__ import annotations


def iteration_due(task_iter: int, iters_per_task: int, every: int) -> bool:
    """True for every ``every``-th iteration of a task (counted from 0) and for the task's last one."""
    return task_iter % every == 0 or task_iter == iters_per_task - 1


def logged_iterations(iters_per_task: int, every: int) -> list[int]:
    """The iterations of one task that :func:`iteration_due` selects, in order."""
    return [k for k in range(iters_per_task) if iteration_due(k, iters_per_task, every)]
