"""The hierarchical memory pool: conformance, a uniform labeled reservoir with dedup, the RAM budget over both
RAM tiers, the weighted offline draw from the disk tier, an exact save and load, and a resumed run."""

import io
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sscl_core import testing
from sscl_core.run.checkpoint import read_manifest
from sscl_core.run.trainer import Trainer
from sscl_core.testing import check_memory_pool
from sscl_plugin_edgehml.hml_pool import HierarchicalMemoryPool
from sscl_plugin_edgehml.method import EdgeHML

CHI2_0999 = {1: 10.828, 2: 13.816, 19: 43.820}
"""Critical values of the chi-square distribution at alpha 0.001 by degrees of freedom."""


def batch(indices, task_id: int = 0, labels=None) -> dict:
    """Samples with these indices, images determined by the index, labels ``labels`` or index % 3."""
    index = torch.as_tensor(indices, dtype=torch.long)
    x = ((index.view(-1, 1) * 5 + torch.arange(16)) % 256).to(torch.uint8).view(-1, 1, 4, 4)
    y = index % 3 if labels is None else torch.as_tensor(labels, dtype=torch.long)
    return {"x": x, "y": y, "task_id": torch.full_like(index, task_id), "index": index}


def test_conforms():
    check_memory_pool(HierarchicalMemoryPool)


def test_before_run_puts_the_disk_tier_in_the_pool_dir(tmp_path):
    pool = HierarchicalMemoryPool(size=4, disk_size=10, shard_samples=2)
    assert pool.max_disk_bytes() is None and pool.disk_files() == []
    pool.before_run(SimpleNamespace(pool_dir=tmp_path / "memory_pool"))
    pool.add_pseudo(batch(range(6)), torch.Generator().manual_seed(0))
    assert pool.disk_files() and all(p.parent == tmp_path / "memory_pool" for p in pool.disk_files())
    assert 0 < pool.disk_bytes() <= pool.max_disk_bytes()


def test_labeled_reservoir_keeps_every_sample_with_the_same_probability():
    n, size, trials = 20, 5, 1000
    kept = np.zeros(n)
    for trial in range(trials):
        pool = HierarchicalMemoryPool(size=size)
        gen = torch.Generator().manual_seed(trial)
        for start in range(0, n, 4):
            pool.add(batch(range(start, start + 4)), gen)
        kept[pool.labeled_samples()["index"].numpy()] += 1
    p = size / n
    statistic = ((kept - trials * p) ** 2).sum() / (trials * p * (1 - p)) * (n - 1) / n
    assert statistic < CHI2_0999[n - 1]


def test_labeled_dedup_keeps_each_sample_once_and_counts_classes():
    pool = HierarchicalMemoryPool(size=10)
    gen = torch.Generator().manual_seed(0)
    for _ in range(30):
        pool.add(batch([0, 1, 2, 3, 4, 0, 1]), gen)
    held = pool.labeled_samples()
    assert len(pool) == 5 and sorted(held["index"].tolist()) == [0, 1, 2, 3, 4]
    assert pool.labeled_class_counts() == {0: 2, 1: 2, 2: 1}
    pool.add(batch([0], task_id=1), gen)
    assert len(pool) == 6 and pool.labeled_class_counts() == {0: 3, 1: 2, 2: 1}


def test_disk_tier_dedup(tmp_path):
    pool = HierarchicalMemoryPool(size=4, disk_size=50, shard_samples=4)
    pool.attach(tmp_path)
    gen = torch.Generator().manual_seed(0)
    for _ in range(10):
        pool.add_pseudo(batch([7, 8, 9, 7]), gen)
    assert pool.disk_len() == 3 and len(pool) == 0


def fill_disk(pool, counts, gen):
    """Offer ``counts[c]`` samples of pseudo-class c to the disk tier (distinct indices)."""
    start = 0
    for label, count in enumerate(counts):
        pool.add_pseudo(batch(range(start, start + count), labels=[label] * count), gen)
        start += count


def class_shares_of_single_draws(tmp_path, losses, trials):
    """How often the single sample of M_U (size 1) is of each class, over ``trials`` refreshes."""
    pool = HierarchicalMemoryPool(size=1, disk_size=1000, shard_samples=64)
    pool.attach(tmp_path)
    gen = torch.Generator().manual_seed(0)
    fill_disk(pool, (500, 100, 50), gen)
    assert pool.disk_len() == 650
    drawn = np.zeros(3)
    for _ in range(trials):
        pool.refresh_pseudo(losses, gen)
        drawn[int(pool.sample_pseudo(1, gen)["y"])] += 1
    return drawn


def chi_square(observed, expected) -> float:
    return float(((observed - expected) ** 2 / expected).sum())


def test_offline_draw_gives_each_class_its_share_of_the_loss(tmp_path):
    trials = 1400
    drawn = class_shares_of_single_draws(tmp_path, {0: 1.0, 1: 2.0, 2: 4.0}, trials)
    expected = trials * np.array([1, 2, 4]) / 7
    assert chi_square(drawn, expected) < CHI2_0999[2], drawn


def test_missing_class_gets_the_mean_loss_and_zero_losses_count_as_equal(tmp_path):
    trials = 900
    drawn = class_shares_of_single_draws(tmp_path / "a", {0: 1.0, 1: 3.0}, trials)
    assert chi_square(drawn, trials * np.array([1, 3, 2]) / 6) < CHI2_0999[2], drawn
    drawn = class_shares_of_single_draws(tmp_path / "b", {0: 0.0, 1: 0.0, 2: 0.0}, trials)
    assert chi_square(drawn, np.full(3, trials / 3)) < CHI2_0999[2], drawn


def test_with_equal_losses_rare_class_samples_are_drawn_more_often(tmp_path):
    pool = HierarchicalMemoryPool(size=20, disk_size=1000, shard_samples=64)
    pool.attach(tmp_path)
    gen = torch.Generator().manual_seed(1)
    counts = (500, 100, 50)
    fill_disk(pool, counts, gen)
    drawn = np.zeros(3)
    for _ in range(200):
        pool.refresh_pseudo({0: 1.0, 1: 1.0, 2: 1.0}, gen)
        held = pool.sample_pseudo(20, gen)
        assert len(held["y"]) == 20 and len(set(held["index"].tolist())) == 20, "drawn with replacement"
        drawn += np.bincount(held["y"].numpy(), minlength=3)
    per_sample = drawn / np.array(counts)
    assert per_sample[2] > 5 * per_sample[0] and per_sample[1] > 2 * per_sample[0], per_sample


def test_a_class_of_zero_loss_is_drawn_last(tmp_path):
    pool = HierarchicalMemoryPool(size=60, disk_size=100, shard_samples=16)
    pool.attach(tmp_path)
    gen = torch.Generator().manual_seed(2)
    fill_disk(pool, (30, 20), gen)
    pool.refresh_pseudo({0: 0.0, 1: 1.0}, gen)
    assert pool.pseudo_ram_len() == 50, "n = min(|D_U|, size - |M_L|)"
    pool.add(batch(range(15)), gen)
    pool.refresh_pseudo({0: 0.0, 1: 1.0}, gen)
    held = pool.sample_pseudo(100, gen)
    assert len(held["y"]) == 45 and int((held["y"] == 1).sum()) == 20
    assert len(set(zip(held["task_id"].tolist(), held["index"].tolist(), strict=True))) == 45


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(0, 12),
    ops=st.lists(
        st.tuples(st.sampled_from(["add", "pseudo", "refresh"]), st.integers(0, 40), st.integers(1, 8)),
        max_size=25,
    ),
)
def test_ram_tiers_never_exceed_the_budget(size, ops):
    with tempfile.TemporaryDirectory() as folder:
        pool = HierarchicalMemoryPool(size=size, disk_size=30, shard_samples=4)
        pool.attach(Path(folder))
        gen = torch.Generator().manual_seed(0)
        for op, start, count in ops:
            if op == "add":
                pool.add(batch(range(start, start + count)), gen)
            elif op == "pseudo":
                pool.add_pseudo(batch(range(start, start + count), task_id=1), gen)
            else:
                labeled = len(pool.labeled_samples()["y"]) if pool.labeled_samples() else 0
                pool.refresh_pseudo({0: 1.0, 1: float(start)}, gen)
                assert pool.pseudo_ram_len() == min(pool.disk_len(), size - labeled)
            labeled = len(pool.labeled_samples()["y"]) if pool.labeled_samples() else 0
            assert labeled + pool.pseudo_ram_len() == len(pool) <= size
            drawn = pool.sample(size + 1, gen)
            assert (drawn is None) == (len(pool) == 0)
            assert drawn is None or len(drawn["x"]) == len(pool)


def test_a_new_labeled_sample_evicts_a_pseudo_labeled_one(tmp_path):
    pool = HierarchicalMemoryPool(size=10, disk_size=40, shard_samples=8)
    pool.attach(tmp_path)
    gen = torch.Generator().manual_seed(0)
    pool.add(batch(range(4)), gen)
    pool.add_pseudo(batch(range(20), task_id=1), gen)
    pool.refresh_pseudo({}, gen)
    assert pool.pseudo_ram_len() == 6 and len(pool) == 10
    pool.add(batch(range(4, 7)), gen)
    assert pool.pseudo_ram_len() == 3 and len(pool) == 10
    drawn = pool.sample(10, gen)
    assert sorted(drawn["task_id"].tolist()) == [0] * 7 + [1] * 3


def test_sample_keeps_extra_keys_only_where_every_tier_has_them(tmp_path):
    pool = HierarchicalMemoryPool(size=8, disk_size=20, shard_samples=4)
    pool.attach(tmp_path)
    gen = torch.Generator().manual_seed(0)
    labeled = batch(range(3))
    labeled["logits"] = torch.randn(3, 5, generator=gen)
    pool.add(labeled, gen)
    assert set(pool.sample(2, gen)) == {"x", "y", "task_id", "index", "logits"}
    pool.add_pseudo(batch(range(10), task_id=1), gen)
    pool.refresh_pseudo({0: 1.0}, gen)
    drawn = pool.sample(8, gen)
    assert set(drawn) == {"x", "y", "task_id", "index"} and len(drawn["x"]) == 8
    assert "logits" in pool.sample_labeled(2, gen)
    for row in range(8):
        source = labeled if int(drawn["task_id"][row]) == 0 else batch(range(10))
        at = source["index"].tolist().index(int(drawn["index"][row]))
        assert torch.equal(drawn["x"][row], source["x"][at]), "an image was paired with the wrong sample"


def test_ram_bytes_counts_both_ram_tiers_and_the_write_buffer(tmp_path):
    pool = HierarchicalMemoryPool(size=8, disk_size=20, shard_samples=4)
    pool.attach(tmp_path)
    gen = torch.Generator().manual_seed(0)
    pool.add(batch(range(2)), gen)
    labeled_only = pool.ram_bytes()
    pool.add_pseudo(batch(range(10), task_id=1), gen)
    with_buffer = pool.ram_bytes()
    assert with_buffer == labeled_only + 4 * 16
    pool.refresh_pseudo({}, gen)
    assert pool.ram_bytes() == with_buffer + 6 * (16 + 3 * 8)


def test_the_labeled_tier_grows_with_what_it_holds_instead_of_preallocating_the_budget():
    pool = HierarchicalMemoryPool(size=200, disk_size=0)
    gen = torch.Generator().manual_seed(0)
    row_bytes = 16 + 3 * 8
    pool.add(batch(range(10)), gen)
    assert pool.ram_bytes() == 16 * row_bytes
    assert torch.equal(pool.labeled_samples()["index"], torch.arange(10))
    pool.add(batch(range(10, 300)), gen)
    assert len(pool) == 200 and pool.ram_bytes() == 200 * row_bytes


def test_pseudo_share_keeps_that_part_of_the_budget_for_the_pseudo_labeled_ram_tier(tmp_path):
    pool = HierarchicalMemoryPool(size=10, disk_size=40, shard_samples=4, pseudo_share=0.4)
    pool.attach(tmp_path)
    gen = torch.Generator().manual_seed(0)
    pool.add(batch(range(30)), gen)
    pool.add_pseudo(batch(range(20), task_id=1), gen)
    pool.refresh_pseudo({0: 1.0, 1: 1.0, 2: 1.0}, gen)
    assert len(pool._labeled) == 6 and pool.pseudo_ram_len() == 4 and len(pool) == 10
    contents = pool.pseudo_contents()
    assert contents["labeled"] == 6 and contents["pseudo_ram"] == 4 and contents["disk"] == 20
    assert sum(contents["pseudo_ram_per_class"].values()) == 4 and contents["pseudo_ram_per_task"] == {1: 4}
    assert sorted(contents["disk_per_class"]) == [0, 1, 2] and contents["disk_per_task"] == {1: 20}
    assert all(task == 1 and 0 <= index < 20 and y == index % 3 for task, index, y in contents["pseudo_ram_samples"])
    with pytest.raises(ValueError, match="pseudo_share"):
        HierarchicalMemoryPool(size=10, pseudo_share=1.0)


def roundtrip(state):
    """The state through torch.save / torch.load with weights_only, as a checkpoint stores it."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def test_save_and_load_gives_identical_samples_and_draws(tmp_path):
    pool = HierarchicalMemoryPool(size=20, disk_size=40, shard_samples=8)
    pool.attach(tmp_path)
    gen = torch.Generator().manual_seed(4)
    pool.add(batch(range(0, 8)), gen)
    pool.add_pseudo(batch(range(0, 100), task_id=1), gen)
    pool.refresh_pseudo({0: 1.0, 1: 0.5, 2: 2.0}, gen)
    pool.add(batch(range(30, 33), task_id=2), gen)
    pool.add_pseudo(batch(range(200, 203), task_id=1), gen)
    state = roundtrip(pool.state_dict())
    assert (len(pool), pool.pseudo_ram_len()) == (20, 9)
    clone = HierarchicalMemoryPool(size=20, disk_size=40, shard_samples=8)
    clone.attach(tmp_path)
    clone.load_state_dict(state)
    assert (len(clone), clone.pseudo_ram_len(), clone.disk_len()) == (len(pool), pool.pseudo_ram_len(), 40)
    assert clone.disk_files() == pool.disk_files() and clone.max_disk_bytes() == pool.max_disk_bytes()
    for draw in ("sample", "sample_labeled", "sample_pseudo"):
        a = getattr(pool, draw)(7, torch.Generator().manual_seed(9))
        b = getattr(clone, draw)(7, torch.Generator().manual_seed(9))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), draw
    assert torch.equal(clone.labeled_samples()["x"], pool.labeled_samples()["x"])
    pool.refresh_pseudo({0: 3.0, 1: 1.0}, torch.Generator().manual_seed(5))
    pool_draw = pool.sample_pseudo(100, torch.Generator().manual_seed(6))
    clone.refresh_pseudo({0: 3.0, 1: 1.0}, torch.Generator().manual_seed(5))
    clone_draw = clone.sample_pseudo(100, torch.Generator().manual_seed(6))
    assert all(torch.equal(pool_draw[k], clone_draw[k]) for k in pool_draw)


def test_a_run_killed_mid_task_resumes_with_the_disk_tier_bit_for_bit(tmp_path):
    registry = testing.make_registry(EdgeHML, HierarchicalMemoryPool)
    run_settings = [
        "memory_pool={name: hml, size: 8, disk_size: 20, shard_samples: 4}",
        "dataset.num_tasks=3",
        "method={name: edgehml, warmup: 0.3, threshold: 0.2, harvest_every: 2}",
    ]
    config = testing.tiny_config(
        tmp_path / "resumed", "edgehml", [*run_settings, "callbacks=[{name: conformance-kill, at: 18}]"]
    )
    with pytest.raises(testing.SimulatedKill):
        Trainer(config, registry).run()
    (run_dir,) = (tmp_path / "resumed").iterdir()
    checkpoint = torch.load(run_dir / read_manifest(run_dir).file, weights_only=True)
    assert checkpoint["files"], "the checkpoint kept no disk files"
    resumed = Trainer.resume(run_dir, config, registry).run()
    reference = testing.run_tiny(registry, tmp_path / "reference", "edgehml", run_settings)
    assert resumed.metrics["accuracy"] == reference.metrics["accuracy"]
    assert resumed.metrics["memory"]["pool_disk_bytes"] == reference.metrics["memory"]["pool_disk_bytes"] > 0
