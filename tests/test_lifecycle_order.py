"""The trainer calls every lifecycle hook, in order, with the documented arguments."""

import torch.nn.functional as F

from sscl_core import Callback, Method, component, hookimpl, testing
from sscl_core.api.hookspecs import LIFECYCLE_HOOKS

CALLS = []


@component
class Recorder(Callback):
    """Records every lifecycle call."""

    name = "recorder"

    @hookimpl
    def before_run(self, ctx):
        CALLS.append(("before_run",))

    @hookimpl
    def after_run(self, ctx, metrics):
        CALLS.append(("after_run", metrics["tasks_done"]))

    @hookimpl
    def before_task(self, ctx, task):
        CALLS.append(("before_task", task.id))

    @hookimpl
    def after_task(self, ctx, task):
        CALLS.append(("after_task", task.id))

    @hookimpl
    def before_epoch(self, ctx, epoch):
        CALLS.append(("before_epoch", epoch))

    @hookimpl
    def after_epoch(self, ctx, epoch):
        CALLS.append(("after_epoch", epoch))

    @hookimpl
    def before_iter(self, ctx, batch):
        CALLS.append(("before_iter", ctx.task_iter))

    @hookimpl
    def after_iter(self, ctx, batch, losses):
        CALLS.append(("after_iter", ctx.task_iter))

    @hookimpl
    def before_val(self, ctx, task):
        CALLS.append(("before_val", task.id))

    @hookimpl
    def after_val(self, ctx, task, accuracies):
        CALLS.append(("after_val", task.id, len(accuracies["task-il"]), len(accuracies["class-il"])))


@component
class PlainCE(Method):
    """Cross-entropy on the labeled batch."""

    name = "plain-ce"

    def forward_train(self, batch, ctx):
        return {"ce": F.cross_entropy(ctx.model(batch.x), batch.y)}


def expected_calls(tasks, iters, epoch_iters):
    calls = [("before_run",)]
    for t in range(tasks):
        calls.append(("before_task", t))
        for k in range(iters):
            epoch, offset = divmod(k, epoch_iters)
            if offset == 0:
                calls.append(("before_epoch", epoch))
            calls += [("before_iter", k), ("after_iter", k)]
            if offset == epoch_iters - 1 or k == iters - 1:
                calls.append(("after_epoch", epoch))
        calls += [("after_task", t), ("before_val", t), ("after_val", t, t + 1, t + 1)]
    return calls + [("after_run", tasks)]


def test_every_hook_in_order(tmp_path):
    CALLS.clear()
    registry = testing.make_registry(PlainCE, Recorder)
    testing.run_tiny(
        registry,
        tmp_path,
        "plain-ce",
        ["callbacks=[recorder]", "dataset.num_tasks=3", "train.iters_per_task=7", "train.virtual_epoch_iters=3"],
    )
    assert CALLS == expected_calls(tasks=3, iters=7, epoch_iters=3)
    assert {call[0] for call in CALLS} == set(LIFECYCLE_HOOKS)


def test_hooks_reach_only_the_runs_components(tmp_path):
    CALLS.clear()
    registry = testing.make_registry(PlainCE, Recorder)
    testing.run_tiny(registry, tmp_path, "plain-ce")
    assert CALLS == [], "a callback that was not selected received lifecycle hooks"
