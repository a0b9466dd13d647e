"""DER stores the logits of insertion time and matches them with an MSE; DER++ adds a beta-weighted label term."""

import torch
import torch.nn.functional as F
from torch import nn

from sscl_core import Callback, component, hookimpl, testing
from sscl_plugin_cl.der import DarkExperienceReplay, DarkExperienceReplayPlusPlus
from sscl_plugin_cl.reservoir import ReservoirPool


def filled_pool(model, size=32):
    """A reservoir pool holding 24 samples of two tasks with logits of some other network."""
    pool = ReservoirPool(size=size)
    gen = torch.Generator().manual_seed(3)
    images = torch.randint(0, 256, (24, 1, 4, 4), generator=gen, dtype=torch.uint8)
    pool.add(
        {
            "x": images,
            "y": torch.arange(24) % 4,
            "task_id": torch.arange(24) // 12,
            "index": torch.arange(24),
            "logits": torch.randn(24, 4, generator=gen),
        },
        gen,
    )
    return pool


def tiny_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 4))


def test_stored_logits_are_the_models_logits_when_added(tmp_path, keep_pool):
    offered = []

    @component
    class RecordOffers(Callback):
        name = "record-offers"

        @hookimpl
        def before_iter(self, ctx, batch):
            with torch.no_grad():
                offered.append(ctx.model(batch.x))

    registry = testing.make_registry(DarkExperienceReplay, ReservoirPool, RecordOffers)
    KeepPool, pools = keep_pool
    registry.add("callback", KeepPool, "test")
    # A pool larger than all offers (2 tasks x 12 iterations x 4) keeps every offer in order.
    testing.run_tiny(registry, tmp_path, "der", ["memory_pool.size=200", "callbacks=[record-offers, keep-pool]"])
    (pool,) = pools
    expected = torch.cat(offered)
    assert pool.count == len(expected) == 96
    assert pool.dedup is False, "der's default pool must offer every repetition"
    torch.testing.assert_close(pool.storage["logits"][: pool.count], expected)


def test_der_loss_is_alpha_times_mse_to_stored_logits(fake_ctx):
    model = tiny_model()
    ctx = fake_ctx(model, filled_pool(model), seed=5)
    twin = torch.Generator().set_state(ctx.generator.get_state())
    losses = DarkExperienceReplay(alpha=0.7, replay_batch_size=6).replay_losses(ctx)
    samples = ctx.memory_pool.sample(6, twin)
    x = ctx.stream.transforms.weak(samples["x"], twin)
    expected = 0.7 * F.mse_loss(model(x), samples["logits"])
    assert set(losses) == {"der_mse"}
    torch.testing.assert_close(losses["der_mse"], expected)
    assert float(losses["der_mse"].detach()) > 0


def test_derpp_adds_beta_weighted_cross_entropy_on_a_second_batch(fake_ctx):
    model = tiny_model()
    pool = filled_pool(model)
    ctx = fake_ctx(model, pool, seed=5)
    twin = torch.Generator().set_state(ctx.generator.get_state())
    losses = DarkExperienceReplayPlusPlus(alpha=0.3, beta=0.25, replay_batch_size=6).replay_losses(ctx)
    first = pool.sample(6, twin)
    first_x = ctx.stream.transforms.weak(first["x"], twin)
    second = pool.sample(6, twin)
    second_x = ctx.stream.transforms.weak(second["x"], twin)
    assert set(losses) == {"der_mse", "derpp_ce"}
    torch.testing.assert_close(losses["der_mse"], 0.3 * F.mse_loss(model(first_x), first["logits"]))
    torch.testing.assert_close(losses["derpp_ce"], 0.25 * F.cross_entropy(model(second_x), second["y"]))
    assert not torch.equal(first["index"], second["index"]), "the label term must use its own replay batch"


def test_derpp_label_term_scales_with_beta(fake_ctx):
    model = tiny_model()
    terms = {
        beta: DarkExperienceReplayPlusPlus(beta=beta).replay_losses(fake_ctx(model, filled_pool(model)))["derpp_ce"]
        for beta in (0.0, 0.5, 1.0)
    }
    assert float(terms[0.0].detach()) == 0.0
    torch.testing.assert_close(terms[1.0], 2 * terms[0.5])


def test_der_without_replay_has_only_the_labeled_term(fake_ctx):
    model = tiny_model()
    assert DarkExperienceReplay().replay_losses(fake_ctx(model, ReservoirPool(size=8))) == {}
