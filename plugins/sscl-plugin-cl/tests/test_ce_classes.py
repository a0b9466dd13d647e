"""``ce_classes: task`` restricts the cross-entropy to each sample's own task; ``all`` (the default) does not."""

from types import SimpleNamespace

import torch
import torch.nn.functional as F

from sscl_core import Callback, component, hookimpl, testing
from sscl_plugin_cl.finetune import Finetune


class TwoTasks:
    """A stand-in stream of two tasks with two classes each."""

    tasks = [SimpleNamespace(id=0, classes=(0, 1)), SimpleNamespace(id=1, classes=(2, 3))]
    num_classes = 4

    def __len__(self):
        return 2


def test_task_scope_ignores_other_tasks_logits():
    ctx = SimpleNamespace(stream=TwoTasks(), model=SimpleNamespace(loss=F.cross_entropy))
    logits = torch.tensor([[2.0, 0.5, 9.0, -1.0], [0.0, 7.0, 1.0, 3.0]])
    y, task_ids = torch.tensor([0, 3]), torch.tensor([0, 1])
    masked = Finetune(ce_classes="task").supervised_loss(logits, y, task_ids, ctx)
    expected = (F.cross_entropy(logits[:1, :2], y[:1]) + F.cross_entropy(logits[1:, 2:], y[1:] - 2)) / 2
    torch.testing.assert_close(masked, expected)
    torch.testing.assert_close(Finetune().supervised_loss(logits, y, task_ids, ctx), F.cross_entropy(logits, y))


def _head_rows_of_task_0(tmp_path, ce_classes):
    rows = []

    @component
    class Watch(Callback):
        name = "watch-head"

        @hookimpl
        def after_val(self, ctx):
            rows.append(ctx.model.head.weight[:2].detach().clone())

    registry = testing.make_registry(Finetune, Watch)
    method = {"name": "finetune", "ce_classes": ce_classes}
    overrides = ["train.weight_decay=0", "train.momentum=0", "callbacks=[watch-head]"]
    testing.run_tiny(registry, tmp_path / ce_classes, method, overrides)
    return rows


def test_task_scope_leaves_old_classes_head_rows_alone(tmp_path):
    after_0, after_1 = _head_rows_of_task_0(tmp_path, "task")
    assert torch.equal(after_0, after_1)
    after_0, after_1 = _head_rows_of_task_0(tmp_path, "all")
    assert not torch.equal(after_0, after_1)
