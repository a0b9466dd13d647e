"""The class-balanced pool keeps per-class counts within one of each other and shares reservoir's dedup."""

from collections import Counter

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sscl_core.library.slot_pool import SlotPool
from sscl_plugin_cl.class_balanced import ClassBalancedPool
from sscl_plugin_cl.reservoir import ReservoirPool


def offer(pool, labels, start, gen, task_id=0):
    n = len(labels)
    index = torch.arange(start, start + n)
    pool.add(
        {
            "x": (index % 256).to(torch.uint8).reshape(n, 1, 1, 1).expand(n, 1, 2, 2).contiguous(),
            "y": torch.tensor(labels, dtype=torch.long),
            "task_id": torch.full((n,), task_id),
            "index": index,
            "logits": index.float()[:, None].expand(n, 3).contiguous(),
        },
        gen,
    )


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(1, 24),
    batches=st.lists(st.lists(st.integers(0, 5), min_size=1, max_size=9), min_size=1, max_size=12),
    seed=st.integers(0, 2**16),
)
def test_counts_stay_within_one_unless_a_class_holds_all_it_was_offered(size, batches, seed):
    pool, gen, offered, start = ClassBalancedPool(size=size), torch.Generator().manual_seed(seed), Counter(), 0
    for labels in batches:
        offer(pool, labels, start, gen)
        start += len(labels)
        offered.update(labels)
        counts = pool.class_counts()
        assert len(pool) == min(size, sum(offered.values()))
        for a in offered:
            for b in counts:
                if counts.get(a, 0) < counts[b] - 1:
                    assert counts.get(a, 0) == offered[a], (counts, dict(offered))
        held = pool.storage["index"][: len(pool)]
        assert len(set(held.tolist())) == len(pool), "a sample is held twice"
        assert torch.equal(pool.storage["logits"][: len(pool), 0], held.float()), "extra keys left their sample"
        assert torch.equal(pool.storage["y"][: len(pool)], torch.tensor([labels_of(i, batches) for i in held]))


def labels_of(index, batches):
    flat = [label for labels in batches for label in labels]
    return flat[int(index)]


def test_new_class_takes_room_from_the_largest():
    pool, gen = ClassBalancedPool(size=6), torch.Generator().manual_seed(0)
    offer(pool, [0] * 6, 0, gen)
    offer(pool, [1, 1], 6, gen)
    assert pool.class_counts() == {0: 4, 1: 2}
    offer(pool, [2, 2, 2, 2], 8, gen)
    assert pool.class_counts() == {0: 2, 1: 2, 2: 2}


def test_offers_of_a_largest_class_keep_a_uniform_sample_of_it():
    kept = Counter()
    for seed in range(300):
        pool, gen = ClassBalancedPool(size=4), torch.Generator().manual_seed(seed)
        offer(pool, [0, 0, 1, 1, 0, 0, 0, 0], 0, gen)
        held = zip(pool.storage["index"].tolist(), pool.storage["y"].tolist(), strict=True)
        kept.update(i for i, y in held if y == 0)
    # Class 0 holds 2 of its 6 samples; each should be held in about a third of the runs.
    assert set(kept) == {0, 1, 4, 5, 6, 7}
    assert all(60 < kept[i] < 140 for i in kept), kept


def test_dedup_counts_each_task_and_index_once():
    pool, gen = ClassBalancedPool(size=4), torch.Generator().manual_seed(0)
    for _ in range(5):
        offer(pool, [0, 1], 0, gen)
    assert len(pool) == 2 and pool.class_seen == {0: 1, 1: 1}
    offer(pool, [0, 1], 0, gen, task_id=1)
    assert len(pool) == 4
    repeats = ClassBalancedPool(size=4, dedup=False)
    for _ in range(5):
        offer(repeats, [0, 1], 0, gen)
    assert repeats.class_seen == {0: 5, 1: 5} and repeats.class_counts() == {0: 2, 1: 2}


def test_state_round_trip_keeps_the_class_counters():
    pool, gen = ClassBalancedPool(size=4), torch.Generator().manual_seed(0)
    offer(pool, [0, 0, 0, 1, 1, 2], 0, gen)
    clone = ClassBalancedPool(size=4)
    clone.load_state_dict(pool.state_dict())
    assert clone.class_seen == pool.class_seen and clone.class_counts() == pool.class_counts()
    offer(pool, [2, 2], 6, torch.Generator().manual_seed(9))
    offer(clone, [2, 2], 6, torch.Generator().manual_seed(9))
    assert torch.equal(pool.storage["index"], clone.storage["index"])


def test_reservoir_and_class_balanced_share_the_slot_storage():
    assert issubclass(ReservoirPool, SlotPool) and issubclass(ClassBalancedPool, SlotPool)
    for cls in (ReservoirPool, ClassBalancedPool):
        assert "add" not in vars(cls) and "sample" not in vars(cls) and "state_dict" not in vars(cls)
