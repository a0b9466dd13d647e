"""PNN adds a column per task, trains only it, keeps earlier columns exact (parameters and BatchNorm buffers)
and is refused on class-IL streams."""

import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from sscl_core import Backbone, Callback, SsclError, component, hookimpl, param, testing
from sscl_core.run.resolve import resolve_components
from sscl_plugin_cl.pnn import ProgressiveNeuralNetworks


class _BatchNormMLP(nn.Module):
    def __init__(self, inputs: int, width: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Flatten(), nn.Linear(inputs, width), nn.BatchNorm1d(width), nn.ReLU())
        self.out_features = width

    def forward(self, x):
        return self.layers(x)


@component
class BatchNormBackbone(Backbone):
    """A one-layer perceptron with BatchNorm, so frozen columns have running statistics to keep."""

    name = "bn-mlp"
    width: int = param(16)

    def build(self, input_shape):
        return _BatchNormMLP(math.prod(input_shape), self.width)


def column_state(column):
    return {k: v.clone() for k, v in column.state_dict().items()}


def test_earlier_columns_keep_exact_parameters_and_buffers(tmp_path):
    after_task, trained_ids, columns = {}, {}, {}

    @component
    class Watch(Callback):
        name = "watch-pnn"

        @hookimpl
        def before_iter(self, ctx):
            trained_ids[ctx.task_index] = {id(p) for g in ctx.optimizer.param_groups for p in g["params"]}
            columns[ctx.task_index] = {id(p) for p in ctx.model.columns[-1].parameters()}

        @hookimpl
        def after_val(self, ctx, task):
            after_task[task.id] = [column_state(c) for c in ctx.model.columns]

    registry = testing.make_registry(ProgressiveNeuralNetworks, BatchNormBackbone, Watch)
    overrides = ["dataset.scenario=task-il", "dataset.num_tasks=3", "backbone=bn-mlp", "callbacks=[watch-pnn]"]
    result = testing.run_tiny(registry, tmp_path, "pnn", overrides)
    assert [len(after_task[t]) for t in range(3)] == [1, 2, 3]
    for t in range(3):
        assert trained_ids[t] == columns[t], "the optimizer must train the new column only"
    for k in range(2):
        for later in range(k + 1, 3):
            for key, value in after_task[k][k].items():
                assert torch.equal(after_task[later][k][key], value), f"column {k} {key} changed by task {later}"
    assert any("running_mean" in key for key in after_task[0][0]), "the test needs BatchNorm buffers"
    task_il = result.metrics["accuracy"]["task-il"]
    assert task_il[2][0] == task_il[0][0] and task_il[2][1] == task_il[1][1], "a frozen column's accuracy changed"


def test_columns_are_rebuilt_from_the_method_state():
    backbone = BatchNormBackbone()
    stream = SimpleNamespace(input_shape=(1, 4, 4), num_classes=6)

    def context():
        return SimpleNamespace(model=None, backbone=backbone, stream=stream, device=torch.device("cpu"))

    torch.manual_seed(0)
    first, ctx = ProgressiveNeuralNetworks(), context()
    first.before_run(ctx=ctx)
    for _ in range(3):
        ctx.model.add_column()
    saved_model, saved_method = ctx.model.state_dict(), first.state_dict()
    again, fresh = ProgressiveNeuralNetworks(), context()
    again.before_run(ctx=fresh)
    again.load_state_dict(saved_method)
    fresh.model.load_state_dict(saved_model, strict=True)
    fresh.model.eval(), ctx.model.eval()
    x = torch.randn(5, 1, 4, 4)
    for k in range(3):
        torch.testing.assert_close(fresh.model.column_logits(x, k), ctx.model.column_logits(x, k))
    assert [p.requires_grad for c in fresh.model.columns for p in c.parameters()] == [
        p.requires_grad for c in ctx.model.columns for p in c.parameters()
    ]


def test_class_il_is_refused_in_one_line():
    registry = testing.make_registry(ProgressiveNeuralNetworks)
    config = testing.tiny_config("unused", "pnn", ["dataset.scenario=class-il"])
    with pytest.raises(SsclError) as error:
        resolve_components(config, registry)
    message = str(error.value)
    assert message == (
        "method 'pnn' supports task-il, but the dataset's scenario is class-il: "
        "set dataset.scenario to one of those or choose another method"
    )
