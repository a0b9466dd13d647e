"""The core's contract for files a component's state refers to, with a small disk-backed pool and a callback
that keeps a file, both defined here: the pool's tier stays within its bound when full, checkpoints keep the
files with sha256 sums, a resume puts them back (and refuses changed ones), and the run removes them at the end
unless ``keep_pool_disk`` is set."""

import json

import pytest
import torch

from sscl_core import Callback, MemoryPool, component, hookimpl, param, testing
from sscl_core.api.errors import SsclError
from sscl_core.run.checkpoint import files_snapshot_dir, read_manifest
from sscl_core.run.trainer import Trainer
from sscl_plugin_cl.er import ExperienceReplay

IMAGE_BYTES = 8 * 8
"""Bytes of one synthetic image, the size of one file of the pool."""


@component
class DiskPool(MemoryPool):
    """The newest samples, one file per image in ctx.pool_dir, oldest evicted beyond ``max_bytes`` on disk.

    Files are written once and deleted, never changed; labels and ids stay in RAM.
    """

    name = "test-disk"
    max_bytes: int = param(20 * IMAGE_BYTES, help="bound of the disk tier in bytes")

    def __attrs_post_init__(self):
        self.directory = None
        self.files, self.meta, self.shape, self.written = [], [], None, 0

    @hookimpl
    def before_run(self, ctx):
        self.directory = ctx.pool_dir
        self.directory.mkdir(parents=True, exist_ok=True)

    def add(self, samples, generator):
        for row in range(len(samples["y"])):
            name = f"sample-{self.written:06d}.u8"
            self.written += 1
            self.shape = list(samples["x"][row].shape)
            (self.directory / name).write_bytes(samples["x"][row].numpy().tobytes())
            self.files.append(name)
            self.meta.append([int(samples[k][row]) for k in ("y", "task_id", "index")])
            while self.disk_bytes() > self.max_bytes:
                (self.directory / self.files.pop(0)).unlink()
                self.meta.pop(0)

    def sample(self, n, generator):
        if not self.files:
            return None
        chosen = torch.randperm(len(self.files), generator=generator)[:n].tolist()
        x = [
            torch.frombuffer(bytearray((self.directory / self.files[i]).read_bytes()), dtype=torch.uint8)
            for i in chosen
        ]
        meta = torch.tensor([self.meta[i] for i in chosen], dtype=torch.long)
        return {
            "x": torch.stack(x).view(len(chosen), *self.shape),
            "y": meta[:, 0],
            "task_id": meta[:, 1],
            "index": meta[:, 2],
        }

    def __len__(self):
        return len(self.files)

    def ram_bytes(self):
        return 0

    def disk_bytes(self):
        return sum((self.directory / name).stat().st_size for name in self.files)

    def disk_files(self):
        return [self.directory / name for name in self.files]

    def max_disk_bytes(self):
        return self.max_bytes

    def state_dict(self):
        return {"files": list(self.files), "meta": list(self.meta), "shape": self.shape, "written": self.written}

    def load_state_dict(self, state):
        self.files, self.meta = list(state["files"]), [list(m) for m in state["meta"]]
        self.shape, self.written = state["shape"], state["written"]


@component
class LeakyDiskPool(DiskPool):
    """Claims a bound it does not keep."""

    name = "test-leaky-disk"

    def max_disk_bytes(self):
        return self.max_bytes // 2


@component
class DiskWatch(Callback):
    """Records the bytes in the pool's folder after every iteration."""

    name = "disk-watch"
    seen = []

    @hookimpl
    def after_iter(self, ctx):
        DiskWatch.seen.append(sum(p.stat().st_size for p in ctx.pool_dir.iterdir()))


@component
class LossDiary(Callback):
    """Appends each task's last loss to a file of its own, replaced (never changed in place) after every task;
    its state names the file, and the final diary goes into metrics.json."""

    name = "loss-diary"
    outside: bool = param(False, help="keep the file in the run directory itself (breaks the contract)")

    def __attrs_post_init__(self):
        self.folder, self.file, self.loss = None, None, 0.0

    @hookimpl
    def before_run(self, ctx):
        self.folder = ctx.run_dir if self.outside else ctx.files_dir(self.name)
        self.folder.mkdir(parents=True, exist_ok=True)

    @hookimpl
    def after_iter(self, ctx, losses):
        self.loss = float(sum(losses.values()))

    @hookimpl
    def after_task(self, ctx, task):
        lines = self.file.read_text() if self.file is not None else ""
        new = self.folder / f"diary-{task.id}.txt"
        new.write_text(f"{lines}{task.id} {self.loss:.6f}\n")
        self.file = new

    @hookimpl
    def after_run(self, ctx, metrics):
        metrics["diary"] = self.file.read_text()

    def disk_files(self):
        return [self.file] if self.file is not None else []

    def max_disk_bytes(self):
        return 4096

    def state_dict(self):
        return {"file": self.file.name if self.file is not None else None}

    def load_state_dict(self, state):
        self.file = self.folder / state["file"] if state["file"] is not None else None


POOL = "memory_pool={name: test-disk}"


def registry():
    return testing.make_registry(ExperienceReplay, DiskPool, LeakyDiskPool, DiskWatch, LossDiary)


def test_full_disk_tier_stays_within_its_bound_and_is_removed_with_the_run(tmp_path):
    DiskWatch.seen = []
    result = testing.run_tiny(registry(), tmp_path, "er", [POOL, "callbacks=[disk-watch]", "dataset.num_tasks=3"])
    bound = DiskPool().max_bytes
    assert max(DiskWatch.seen) == bound, "the tier never filled up"
    assert all(used <= bound for used in DiskWatch.seen)
    assert result.metrics["memory"]["pool_disk_bytes"] <= bound
    assert not (result.run_dir / "files" / "memory_pool").exists()
    assert not files_snapshot_dir(result.run_dir, 3).exists()
    assert read_manifest(result.run_dir).finished


def test_keep_pool_disk_keeps_the_tier(tmp_path):
    result = testing.run_tiny(registry(), tmp_path, "er", [POOL, "keep_pool_disk=true"])
    files = sorted(p.name for p in (result.run_dir / "files" / "memory_pool").iterdir())
    offered = 2 * 12 * 4  # tasks x iterations x labeled batch
    assert len(files) == 20 and files[-1] == f"sample-{offered - 1:06d}.u8"


def test_resume_puts_the_tier_back_bit_for_bit(tmp_path):
    testing.check_resume(ExperienceReplay, tmp_path, extra=(DiskPool,), overrides=[POOL])


def killed_run(tmp_path):
    """A run with the disk pool killed in the middle of task 2; returns its run directory and config."""
    callbacks = "callbacks=[{name: conformance-kill, at: 18}, disk-watch]"
    config = testing.tiny_config(tmp_path, "er", [POOL, "dataset.num_tasks=3", callbacks])
    with pytest.raises(testing.SimulatedKill):
        Trainer(config, registry()).run()
    (run_dir,) = tmp_path.iterdir()
    return run_dir, config


def test_checkpoint_lists_the_tier_with_sha256_and_refuses_a_changed_file(tmp_path):
    run_dir, config = killed_run(tmp_path)
    checkpoint = torch.load(run_dir / read_manifest(run_dir).file, weights_only=True)
    sums = checkpoint["files"]["memory_pool:test-disk"]
    assert len(sums) == 20 and all(len(s) == 64 for s in sums.values())
    snapshot = files_snapshot_dir(run_dir, 1)
    assert sorted(f"memory_pool/{p.name}" for p in (snapshot / "memory_pool").iterdir()) == sorted(sums)
    assert [f"memory_pool/{f}" for f in checkpoint["components"]["memory_pool:test-disk"]["files"]] == sorted(sums)
    changed = snapshot / sorted(sums)[3]
    changed.write_bytes(bytes(IMAGE_BYTES))
    with pytest.raises(SsclError, match=f"component file {changed} does not match its sha256"):
        Trainer.resume(run_dir, config, registry())
    changed.unlink()
    with pytest.raises(SsclError, match=f"component file {changed} of the checkpoint is missing"):
        Trainer.resume(run_dir, config, registry())


def test_files_the_pool_wrote_after_the_checkpoint_do_not_leak_into_the_resumed_run(tmp_path):
    run_dir, config = killed_run(tmp_path)
    (run_dir / "files" / "memory_pool" / "stray.u8").write_bytes(b"x")
    DiskWatch.seen = []
    result = Trainer.resume(run_dir, config, registry()).run()
    assert result.metrics["tasks_done"] == 3
    assert max(DiskWatch.seen) == DiskPool().max_bytes
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert [e["tasks_done"] for e in events if e["event"] == "checkpoint"] == [1, 2, 3]


def test_a_pool_over_its_declared_bound_is_refused(tmp_path):
    with pytest.raises(
        SsclError, match="memory pool 'test-leaky-disk' holds 1280 bytes on disk, over its bound of 640"
    ):
        testing.run_tiny(registry(), tmp_path, "er", ["memory_pool={name: test-leaky-disk}"])


def test_a_callbacks_files_come_back_on_resume_and_the_run_ends_as_an_uninterrupted_one(tmp_path):
    settings = [POOL, "dataset.num_tasks=3"]
    reference = testing.run_tiny(registry(), tmp_path / "reference", "er", [*settings, "callbacks=[loss-diary]"])
    config = testing.tiny_config(
        tmp_path / "killed", "er", [*settings, "callbacks=[loss-diary, {name: conformance-kill, at: 18}]"]
    )
    with pytest.raises(testing.SimulatedKill):
        Trainer(config, registry()).run()
    (run_dir,) = (tmp_path / "killed").iterdir()
    checkpoint = torch.load(run_dir / read_manifest(run_dir).file, weights_only=True)
    assert list(checkpoint["files"]["callback0:loss-diary"]) == ["loss-diary/diary-0.txt"]
    assert len(checkpoint["files"]["memory_pool:test-disk"]) == 20
    (run_dir / "files" / "loss-diary" / "diary-1.txt").write_text("written after the checkpoint\n")
    resumed = Trainer.resume(run_dir, config, registry()).run()
    assert resumed.metrics["diary"] == reference.metrics["diary"]
    assert len(resumed.metrics["diary"].splitlines()) == 3
    assert not (run_dir / "files").exists()


def test_a_component_file_outside_the_files_folder_is_refused(tmp_path):
    with pytest.raises(SsclError, match="callback 'loss-diary' keeps .*diary-0.txt outside .*files"):
        testing.run_tiny(registry(), tmp_path, "er", [POOL, "callbacks=[{name: loss-diary, outside: true}]"])
