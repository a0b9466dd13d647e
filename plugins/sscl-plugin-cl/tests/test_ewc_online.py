"""Online EWC computes the Fisher diagonal at each task end, decays the old one by gamma, and penalizes moving."""

import torch
import torch.nn.functional as F

from sscl_core import Callback, component, hookimpl, testing
from sscl_plugin_cl.ewc_online import OnlineEWC


def empirical_fisher(ctx, task):
    """The reference: mean over the task's labeled samples of squared log-likelihood gradients, model in eval."""
    model = ctx.model
    model.eval()
    images = ctx.stream.transforms.test(task.labeled_x)
    fisher = {n: torch.zeros_like(p) for n, p in model.named_parameters()}
    for x, y in zip(images, task.labeled_y, strict=True):
        model.zero_grad()
        F.cross_entropy(model(x[None]), y[None]).backward()
        for n, p in model.named_parameters():
            fisher[n] += p.grad**2
    model.zero_grad()
    model.train()
    return {n: f / len(images) for n, f in fisher.items()}


def test_fisher_at_task_end_decays_by_gamma(tmp_path):
    seen = {"fisher": [], "importance": [], "during_task_1": [], "penalty": []}

    @component
    class Watch(Callback):
        name = "watch-ewc"

        @hookimpl
        def after_val(self, ctx, task):
            seen["fisher"].append(empirical_fisher(ctx, task))
            seen["importance"].append({n: v.clone() for n, v in ctx.method.importance.items()})

        @hookimpl
        def after_iter(self, ctx, losses):
            if ctx.task_index == 1:
                seen["during_task_1"].append({n: v.clone() for n, v in ctx.method.importance.items()})
                seen["penalty"].append(losses["ewc_penalty"])

    registry = testing.make_registry(OnlineEWC, Watch)
    method = {"name": "ewc-online", "gamma": 0.5, "ewc_lambda": 10.0}
    testing.run_tiny(registry, tmp_path, method, ["callbacks=[watch-ewc]"])
    (f0, f1), (after_0, after_1) = seen["fisher"], seen["importance"]
    for name in f0:
        torch.testing.assert_close(after_0[name], f0[name])
        torch.testing.assert_close(after_1[name], 0.5 * f0[name] + f1[name])
        for during in seen["during_task_1"]:
            assert torch.equal(during[name], after_0[name]), "the Fisher changed during a task"
    assert sum(float(v.sum()) for v in f0.values()) > 0
    assert seen["penalty"][0] == 0.0 and all(p > 0 for p in seen["penalty"][1:])


def test_penalty_is_half_lambda_fisher_weighted_distance(fake_ctx):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    ewc = OnlineEWC(ewc_lambda=4.0)
    ewc.anchor = {n: torch.zeros_like(p) for n, p in model.named_parameters()}
    ewc.importance = {n: torch.full_like(p, 0.25) for n, p in model.named_parameters()}
    expected = 4.0 / 2 * sum(0.25 * (p.detach() ** 2).sum() for p in model.parameters())
    torch.testing.assert_close(ewc.penalty_weight() * ewc.penalty(fake_ctx(model)), expected)
