"""The disk tier: a uniform reservoir with dedup, within its byte bound at every moment, files written once,
exact after a save and load, and O(metadata) in RAM."""

import hashlib
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import torch

from sscl_plugin_edgehml.disk_store import DiskStore

CHI2_0999 = {19: 43.820}
"""Critical values of the chi-square distribution at alpha 0.001 by degrees of freedom."""


def images_of(index: torch.Tensor) -> torch.Tensor:
    """A 1x4x4 uint8 image determined by the sample index, so a read can be checked without keeping images."""
    return ((index.view(-1, 1) * 7 + torch.arange(16)) % 256).to(torch.uint8).view(-1, 1, 4, 4)


def batch(indices, task_id: int = 0) -> dict:
    """Samples with these indices (labels index % 3)."""
    index = torch.as_tensor(indices, dtype=torch.long)
    return {"x": images_of(index), "y": index % 3, "task_id": torch.full_like(index, task_id), "index": index}


def folder_files(directory):
    return sorted(p for p in directory.iterdir()) if directory.exists() else []


def folder_bytes(directory) -> int:
    return sum(p.stat().st_size for p in folder_files(directory))


def uniformity_statistic(kept_counts: np.ndarray, trials: int, size: int) -> float:
    """Pearson's statistic for "each of N samples kept with probability size / N in each trial", scaled so it
    follows chi-square with N - 1 degrees of freedom (every trial keeps exactly ``size``)."""
    n = len(kept_counts)
    p = size / n
    statistic = ((kept_counts - trials * p) ** 2).sum() / (trials * p * (1 - p))
    return statistic * (n - 1) / n


def test_reservoir_keeps_every_sample_with_the_same_probability(tmp_path):
    n, size, trials = 20, 5, 400
    kept = np.zeros(n)
    for trial in range(trials):
        store = DiskStore(size, shard_samples=size)
        store.attach(tmp_path / str(trial))
        gen = torch.Generator().manual_seed(trial)
        for start in range(0, n, 4):
            store.offer(batch(range(start, start + 4)), gen)
        kept[store.metadata()["index"].numpy()] += 1
        assert len(store) == size
    assert uniformity_statistic(kept, trials, size) < CHI2_0999[n - 1]
    assert kept.sum() == trials * size


def test_a_sample_offered_again_is_not_counted_twice(tmp_path):
    store = DiskStore(8, shard_samples=4)
    store.attach(tmp_path)
    gen = torch.Generator().manual_seed(0)
    store.offer(batch(range(6)), gen)
    for _ in range(20):
        store.offer(batch([0, 1, 2, 3, 4, 5, 0, 0]), gen)
    assert len(store) == 6 and store.seen == 6
    assert sorted(store.metadata()["index"].tolist()) == list(range(6))
    store.offer(batch([0]), gen)
    store.offer(batch([0], task_id=1), gen)
    assert len(store) == 7 and store.seen == 7


class WatchedStore(DiskStore):
    """Checks the folder against the bound right after every shard write (the peak of a merge) and counts
    merges."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.peaks, self.merges = [], 0

    def _write_shard(self, images):
        shard = super()._write_shard(images)
        self.peaks.append(folder_bytes(self.directory))
        return shard

    def _merge_sparsest(self):
        self.merges += 1
        super()._merge_sparsest()


def test_files_stay_within_the_bound_and_are_exactly_the_listed_ones(tmp_path):
    store = WatchedStore(40, shard_samples=8)
    store.attach(tmp_path)
    assert store.max_disk_bytes() == 0 and store.files() == []
    gen = torch.Generator().manual_seed(3)
    for start in range(0, 4000, 5):
        store.offer(batch(range(start, start + 5)), gen)
        assert folder_bytes(tmp_path) <= store.max_disk_bytes()
        assert folder_files(tmp_path) == store.files(), "a temp or stale file is left in the folder"
        assert store.disk_bytes() == folder_bytes(tmp_path)
    assert store.merges > 0, "the stream never made the store merge shards"
    assert max(store.peaks) <= store.max_disk_bytes()
    assert sum(store._shard_rows.values()) <= 2 * 40
    everything = store.read(torch.arange(len(store)))
    assert torch.equal(everything["x"], images_of(everything["index"])), "a merge mixed up images"
    assert torch.equal(everything["y"], everything["index"] % 3)


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_file_once_written_never_changes(tmp_path):
    store = DiskStore(30, shard_samples=6)
    store.attach(tmp_path)
    gen = torch.Generator().manual_seed(5)
    sums = {}
    for start in range(0, 3000, 7):
        store.offer(batch(range(start, start + 7)), gen)
        for path in folder_files(tmp_path):
            if path in sums:
                assert sha256(path) == sums[path], f"{path.name} changed after it was written"
            else:
                sums[path] = sha256(path)
    assert len(sums) > len(store.files()), "no file was ever deleted: the stream did not exercise replacement"


def test_save_and_load_gives_the_same_bytes_and_the_same_future(tmp_path):
    store = DiskStore(25, shard_samples=6)
    store.attach(tmp_path / "a")
    gen = torch.Generator().manual_seed(7)
    for start in range(0, 200, 5):
        store.offer(batch(range(start, start + 5)), gen)
    extra = 500
    while store._buffer_len == 0:
        store.offer(batch([extra]), gen)
        extra += 1
    state = store.state_dict()
    offered = store.read(torch.arange(len(store)))
    assert torch.equal(offered["x"], images_of(offered["index"]))
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    clone = DiskStore(25, shard_samples=6)
    clone.attach(tmp_path / "b")
    clone.load_state_dict(state)
    assert [p.name for p in clone.files()] == state["shards"] == [p.name for p in store.files()]
    again = clone.read(torch.arange(len(clone)))
    assert all(torch.equal(offered[k], again[k]) for k in offered)
    gen_clone = torch.Generator().set_state(gen.get_state())
    for start in range(1000, 1300, 5):
        store.offer(batch(range(start, start + 5)), gen)
        clone.offer(batch(range(start, start + 5)), gen_clone)
    store.offer(batch(range(0, 50)), gen)
    clone.offer(batch(range(0, 50)), gen_clone)
    a, b = store.read(torch.arange(len(store))), clone.read(torch.arange(len(clone)))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [p.name for p in store.files()] == [p.name for p in clone.files()]


RSS_SCRIPT = textwrap.dedent(
    """
    import gc, sys
    from pathlib import Path
    import numpy as np
    import torch
    from sscl_plugin_edgehml.hml_pool import HierarchicalMemoryPool

    def rss():
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024

    total, per_batch = 20000, 56
    pool = HierarchicalMemoryPool(size=200, disk_size=total)
    pool.attach(Path(sys.argv[1]))
    gen = torch.Generator().manual_seed(0)
    data = torch.Generator().manual_seed(1)
    # Warm up the torch and numpy operations that make the batches (first calls allocate caches), so the
    # measurement sees only what the pool keeps.
    warm = torch.randint(0, 256, (per_batch, 3, 32, 32), dtype=torch.uint8, generator=data)
    small = torch.arange(0, 8)
    (small % 10, torch.zeros_like(small), warm.numpy(), small.tolist())
    del warm, small
    gc.collect()
    before = rss()
    for start in range(0, total, per_batch):
        index = torch.arange(start, min(start + per_batch, total))
        x = torch.randint(0, 256, (len(index), 3, 32, 32), dtype=torch.uint8, generator=data)
        pool.add_pseudo({"x": x, "y": index % 10, "task_id": torch.zeros_like(index), "index": index}, gen)
        del x, index
    gc.collect()
    print(rss() - before, pool.disk_len(), pool.disk_bytes())
    """
)


def test_filling_the_disk_tier_keeps_ram_at_metadata_size(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", RSS_SCRIPT, str(tmp_path)], capture_output=True, text=True, check=True, timeout=120
    )
    grown, held, on_disk = (int(v) for v in result.stdout.split())
    print(f"RSS grew by {grown} bytes")
    image_bytes = 20000 * 3 * 32 * 32
    assert held == 20000 and on_disk >= image_bytes - 256 * 3 * 32 * 32
    assert grown < 0.1 * image_bytes, f"RSS grew by {grown} bytes while filling the disk tier"
