"""Checkpoints and ``sscl run --resume`` on the synthetic stream: what is refused (damaged, tampered or foreign
checkpoints, a changed config, a finished run), what a failing plugin hook leaves behind, and the conformance
kit's ``check_resume``."""

import json
import os

import pytest
import torch
import torch.nn.functional as F
import yaml

from sscl_core import Callback, Method, cli, component, hookimpl, param, testing
from sscl_core.run.checkpoint import (
    CHECKPOINT_DIR,
    MANIFEST_FILE,
    checkpoint_file,
    file_sha256,
    load_checkpoint,
    read_manifest,
    save_checkpoint,
)
from sscl_core.run.resume import config_sha256
from sscl_plugin_cl.er import ExperienceReplay
from sscl_plugin_cl.finetune import Finetune
from sscl_plugin_cl.reservoir import ReservoirPool

ITERS = 6


@component
class Boom(Callback):
    """A broken plugin: raises ValueError after one global iteration while ARMED."""

    name = "boom"
    at: int = param(-1, help="global iteration after which to raise (-1: never)")

    @hookimpl
    def after_iter(self, ctx):
        if ctx.global_iter == self.at and ARMED:
            raise ValueError("boom")


ARMED = []
"""Non-empty while Boom raises (cleared to play the fixed plugin, resuming the same config)."""


@component
class LateBoom(Callback):
    """A broken plugin: raises RuntimeError in after_run while ARMED."""

    name = "late-boom"
    at: int = param(-1, help="unused")

    @hookimpl
    def after_run(self, ctx):
        if ARMED:
            raise RuntimeError("late boom")


@component
class Counting(Method):
    """Cross-entropy scaled by a counter it keeps outside state_dict: not resumable."""

    name = "counting"

    def __attrs_post_init__(self):
        self.calls = 0

    def forward_train(self, batch, ctx):
        self.calls += 1
        return {"ce": (1 + 0.05 * self.calls) * F.cross_entropy(ctx.model(batch.x), batch.y)}


@component
class Opaque(Method):
    """Keeps a Python object that a safe checkpoint cannot hold in its state."""

    name = "opaque"

    def forward_train(self, batch, ctx):
        return {"ce": F.cross_entropy(ctx.model(batch.x), batch.y)}

    def state_dict(self):
        return {"when": object()}


@component
class Broken(Method):
    """Fails in forward_train during the second task."""

    name = "broken"

    def forward_train(self, batch, ctx):
        if ctx.task_index == 1:
            raise KeyError("missing-key")
        return {"ce": F.cross_entropy(ctx.model(batch.x), batch.y)}


@pytest.fixture(autouse=True)
def synthetic_registry(monkeypatch):
    """The CLI sees the synthetic stream, the tiny backbone, finetune, er and the test components."""
    registry = testing.make_registry(Finetune, ExperienceReplay, ReservoirPool, Boom, LateBoom, Opaque, Broken)
    monkeypatch.setattr(cli, "load_registry", lambda: registry)
    ARMED[:] = [True]
    return registry


def run_args(method="er", at=ITERS + ITERS // 2, callback="conformance-kill"):
    """A 3-task tiny run (``runs/run``) that ``callback`` stops after global iteration ``at`` (mid task 2)."""
    args = ["run", "--dataset", "synthetic", "--backbone", "tiny-mlp", "--method", method]
    for setting in [
        "dataset.num_tasks=3",
        f"train.iters_per_task={ITERS}",
        "train.batch_size=4",
        "train.uratio=2",
        "device=cpu",
        "run_name=run",
        f"callbacks=[{{name: {callback}, at: {at}}}]",
    ]:
        args += ["--set", setting]
    return args


@pytest.fixture
def stopped(sscl, tmp_path, capsys):
    """The run directory of a run killed in the middle of task 2 (its checkpoint is after task 1)."""
    with pytest.raises(testing.SimulatedKill):
        sscl(*run_args())
    capsys.readouterr()
    run_dir = tmp_path / "runs" / "run"
    assert read_manifest(run_dir).tasks_done == 1
    return run_dir


def one_error_line(result, *fragments):
    code, _out, err = result
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def test_resume_with_the_runs_own_config_matches_the_uninterrupted_run(sscl, stopped, tmp_path):
    (stopped / CHECKPOINT_DIR / "after-task-2.pt.123.tmp").write_bytes(b"half a write")
    with (stopped / "events.jsonl").open("a") as f:
        f.write('{"event": "iter", "ta')
    code, out, err = sscl("run", "--resume", str(stopped))
    assert code == 0, err
    assert "task 3/3" in out and "task 1/3" not in out
    assert not (stopped / CHECKPOINT_DIR / "after-task-2.pt.123.tmp").exists()
    assert sorted(p.name for p in (stopped / CHECKPOINT_DIR).iterdir()) == ["after-task-3.pt"]
    assert read_manifest(stopped).finished
    events = [json.loads(line) for line in (stopped / "events.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events].count("run_resume") == 1
    reference = testing.run_tiny(
        cli.load_registry(), tmp_path / "ref", "er", ["dataset.num_tasks=3", f"train.iters_per_task={ITERS}"]
    )
    resumed = json.loads((stopped / "metrics.json").read_text())
    assert resumed["accuracy"] == reference.metrics["accuracy"]


def test_resume_repeating_the_original_options_is_accepted(sscl, stopped):
    code, _out, err = sscl(*run_args(), "--set", "output_dir=elsewhere", "--resume", str(stopped))
    assert code == 0, err


def test_resume_with_a_changed_config_is_refused(sscl, stopped):
    line = one_error_line(
        sscl("run", "--resume", str(stopped), "--set", "train.lr=0.1", "--set", "seed=3"),
        "the config differs from the run's in seed (run: 0, given: 3), train.lr (run: 0.03, given: 0.1)",
        "start a new run",
    )
    assert str(stopped) in line


def as_recorded_by_an_earlier_release(run_dir):
    """Rewrite ``run_dir``'s config.yaml and checkpoint without the fields added to the framework since the first
    release (``keep_checkpoints``, ``backbone.weights``, ``backbone.weights_prefix``), as that release wrote them."""
    manifest = read_manifest(run_dir)
    payload = load_checkpoint(run_dir, manifest)
    record = payload["config"]
    del record["keep_checkpoints"], record["backbone"]["weights"], record["backbone"]["weights_prefix"]
    state = {key: value for key, value in payload.items() if key not in ("format", "version", "tasks_done")}
    del state["config_sha256"]
    save_checkpoint(run_dir, state, manifest.tasks_done, config_sha256(record))
    (run_dir / "config.yaml").write_text(yaml.safe_dump(record, sort_keys=False))


def test_run_recorded_before_fields_were_added_resumes_while_they_keep_their_defaults(sscl, stopped, tmp_path):
    as_recorded_by_an_earlier_release(stopped)
    one_error_line(
        sscl("run", "--resume", str(stopped), "--set", "keep_checkpoints=true"),
        "keep_checkpoints (run: False, given: True)",
    )
    code, _out, err = sscl("run", "--resume", str(stopped))
    assert code == 0, err
    reference = testing.run_tiny(
        cli.load_registry(), tmp_path / "ref", "er", ["dataset.num_tasks=3", f"train.iters_per_task={ITERS}"]
    )
    assert json.loads((stopped / "metrics.json").read_text())["accuracy"] == reference.metrics["accuracy"]


def test_resume_refuses_an_edited_config_yaml(sscl, stopped):
    path = stopped / "config.yaml"
    path.write_text(path.read_text().replace("batch_size: 4", "batch_size: 5"))
    one_error_line(sscl("run", "--resume", str(stopped)), "train.batch_size (run: 4, given: 5)")


def test_truncated_checkpoint_is_one_error(sscl, stopped):
    path = checkpoint_file(stopped, 1)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    one_error_line(sscl("run", "--resume", str(stopped)), str(path), "does not match its sha256", "start a new run")


def rewrite_manifest_sha(run_dir, path):
    """Make checkpoint.json agree with a replaced checkpoint file, as a careful attacker would."""
    manifest = json.loads((run_dir / MANIFEST_FILE).read_text())
    manifest["sha256"] = file_sha256(path)
    (run_dir / MANIFEST_FILE).write_text(json.dumps(manifest))


def test_truncated_checkpoint_with_matching_sha_cannot_be_read(sscl, stopped):
    path = checkpoint_file(stopped, 1)
    path.write_bytes(path.read_bytes()[:1000])
    rewrite_manifest_sha(stopped, path)
    one_error_line(sscl("run", "--resume", str(stopped)), "cannot be read", "truncated or not an sscl checkpoint")


class RunsCode:
    """An object whose unpickling runs a shell command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_checkpoint_with_a_pickled_object_that_runs_code_is_refused(sscl, stopped, tmp_path):
    marker = tmp_path / "code-ran"
    path = checkpoint_file(stopped, 1)
    state = torch.load(path, weights_only=True)
    torch.save({**state, "progress": RunsCode(marker)}, path)
    rewrite_manifest_sha(stopped, path)
    one_error_line(sscl("run", "--resume", str(stopped)), "refused (loading it could run code)", str(path))
    assert not marker.exists()


def test_foreign_checkpoint_is_refused(sscl, stopped):
    path = checkpoint_file(stopped, 1)
    torch.save({"model": {"w": torch.zeros(2)}}, path)
    rewrite_manifest_sha(stopped, path)
    one_error_line(sscl("run", "--resume", str(stopped)), "is not an sscl checkpoint")


@pytest.mark.parametrize("text", ["", "{not json", '{"format": "sscl-checkpoint", "version": 1}', "[1, 2]"])
def test_damaged_manifest_is_one_error(sscl, stopped, text):
    (stopped / MANIFEST_FILE).write_text(text)
    one_error_line(sscl("run", "--resume", str(stopped)), MANIFEST_FILE, "is damaged", "start a new run")


def test_resume_of_a_finished_run_or_a_non_run_is_refused(sscl, tmp_path):
    assert sscl(*run_args(at=-1))[0] == 0
    one_error_line(sscl("run", "--resume", "runs/run"), "finished all its tasks")
    one_error_line(sscl("run", "--resume", "nowhere"), "no such run directory")
    one_error_line(sscl("run", "--resume", "runs"), "not an sscl run directory")


def test_run_killed_before_its_first_checkpoint_resumes_from_the_start(sscl, tmp_path, capsys):
    with pytest.raises(testing.SimulatedKill):
        sscl(*run_args(at=2))
    capsys.readouterr()
    run_dir = tmp_path / "runs" / "run"
    assert read_manifest(run_dir) is None
    code, out, err = sscl("run", "--resume", str(run_dir))
    assert code == 0, err
    assert "task 1/3" in out
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["tasks_done"] == 3


def test_hook_that_raises_is_named_and_the_checkpoint_stays_resumable(sscl, tmp_path):
    line = one_error_line(
        sscl(*run_args(callback="boom")),
        "callback 'boom' (from sscl-core.testing) raised ValueError in its after_iter hook: boom",
        "the checkpoint after task 1 is intact",
        "resume with 'sscl run --resume runs/run'",
    )
    assert line.startswith("sscl: error: ")
    run_dir = tmp_path / "runs" / "run"
    failed = [json.loads(x) for x in (run_dir / "events.jsonl").read_text().splitlines()][-1]
    assert failed["event"] == "run_failed" and "ValueError: boom" in failed["traceback"]
    ARMED.clear()
    code, _out, err = sscl("run", "--resume", str(run_dir))
    assert code == 0, err


def test_after_run_that_raises_keeps_every_result_and_ends_in_one_line_with_exit_1(sscl, tmp_path):
    code, out, err = sscl(*run_args(callback="late-boom"))
    assert code == 1 and "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert line.startswith(
        "sscl: error: callback 'late-boom' (from sscl-core.testing) raised RuntimeError in its after_run hook: "
        "late boom"
    ), line
    assert "the checkpoint after task 3 is intact" in line
    run_dir = tmp_path / "runs" / "run"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["tasks_done"] == 3 and len(metrics["accuracy"]["task-il"]) == 3
    assert read_manifest(run_dir).tasks_done == 3 and checkpoint_file(run_dir, 3).exists()
    failed = [json.loads(x) for x in (run_dir / "events.jsonl").read_text().splitlines()][-1]
    assert failed["event"] == "run_failed" and "RuntimeError: late boom" in failed["traceback"]
    ARMED.clear()
    code, _out, err = sscl("run", "--resume", str(run_dir))
    assert code == 0, err
    assert read_manifest(run_dir).finished


def test_forward_train_that_raises_is_named(sscl):
    one_error_line(
        sscl(*run_args(method="broken")),
        "method 'broken' (from sscl-core.testing) raised KeyError in forward_train: 'missing-key'",
        "the checkpoint after task 1 is intact",
    )


def test_state_that_a_safe_checkpoint_cannot_hold_is_refused_at_the_first_checkpoint(sscl):
    one_error_line(
        sscl(*run_args(method="opaque")),
        "method 'opaque' state_dict()['when'] is a builtins.object",
        "only tensors and plain data",
    )


def test_check_resume_passes_for_replay_and_fails_for_hidden_state(tmp_path):
    testing.check_resume(ExperienceReplay, tmp_path / "er", extra=(ReservoirPool,))
    with pytest.raises(AssertionError, match="differ from the uninterrupted run"):
        testing.check_resume(Counting, tmp_path / "counting")


def test_checkpoint_write_failure_is_one_error(sscl, tmp_path, monkeypatch):
    def full_disk(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    line = one_error_line(sscl(*run_args()), "cannot write checkpoint", "No space left on device")
    assert "after-task-1.pt" in line
    assert not list((tmp_path / "runs" / "run" / CHECKPOINT_DIR).iterdir()), "a temporary file was left"
