"""SI accumulates -grad * delta along the path, turns it into importance at task ends, and penalizes moving."""

import torch
from torch import nn

from sscl_core import Callback, component, hookimpl, testing
from sscl_plugin_cl.si import SynapticIntelligence


def test_path_integral_is_minus_gradient_times_step(fake_ctx):
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    ctx = fake_ctx(model)
    si = SynapticIntelligence(c=0.5, xi=1.0)
    si.before_task(ctx=ctx, task=None)
    start = {n: p.detach().clone() for n, p in model.named_parameters()}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    expected = {n: torch.zeros_like(p) for n, p in model.named_parameters()}
    for _ in range(3):
        before = {n: p.detach().clone() for n, p in model.named_parameters()}
        optimizer.zero_grad()
        model(torch.randn(5, 3)).pow(2).mean().backward()
        optimizer.step()
        for n, p in model.named_parameters():
            expected[n] -= p.grad * (p.detach() - before[n])
        si.after_iter(ctx=ctx)
    for n in expected:
        torch.testing.assert_close(si.omega[n], expected[n])
        assert bool((si.omega[n] >= 0).all()), "plain SGD steps always lower the loss along the gradient"
    si.after_task(ctx=ctx, task=None)
    for n, p in model.named_parameters():
        torch.testing.assert_close(si.importance[n], expected[n] / ((p.detach() - start[n]) ** 2 + 1.0))
        torch.testing.assert_close(si.anchor[n], p.detach())


def test_importance_grows_and_penalty_is_positive_after_the_first_task(tmp_path):
    importance_sums, losses_by_task = [], {0: [], 1: []}

    @component
    class Watch(Callback):
        name = "watch-si"

        @hookimpl
        def after_iter(self, ctx, losses):
            losses_by_task[ctx.task_index].append(losses)

        @hookimpl
        def after_val(self, ctx):
            importance_sums.append(float(sum(v.sum() for v in ctx.method.importance.values())))

    registry = testing.make_registry(SynapticIntelligence, Watch)
    testing.run_tiny(registry, tmp_path, "si", ["callbacks=[watch-si]"])
    assert 0 < importance_sums[0] < importance_sums[1]
    assert all("si_penalty" not in losses for losses in losses_by_task[0])
    penalties = [losses["si_penalty"] for losses in losses_by_task[1]]
    assert penalties[0] == 0.0, "the first iteration of a task starts at the anchor"
    assert all(p > 0 for p in penalties[1:])
