"""A run killed with SIGKILL in the middle of task 3 and resumed with ``sscl run --resume`` ends with the same
accuracy matrices, bit for bit, as the same run uninterrupted: for every method of the first-party plugins, on
the digits stream, on CPU. SIGINT and SIGTERM stop a run after the current iteration, keep the last checkpoint,
say how to resume and exit with 130 and 143.

Every process computes with one torch thread (bit-for-bit equality holds for one machine setup, and the
shared test machine runs much faster without oversubscribed threads). The run is stopped by a tiny plugin
that the tests write into a folder (a module and its dist-info with an ``sscl`` entry point): its callback
signals its own process right after a given global iteration, so the moment is exact.
"""

import json
import os
import subprocess
import sys

import pytest
import torch

from sscl_core.plugins.registry import load_registry
from sscl_core.run.checkpoint import MANIFEST_FILE, checkpoint_file, read_manifest

ITERS = 6
TASKS = 4
STOP_AT = 2 * ITERS + ITERS // 2
"""The global iteration after which the process is stopped: the middle of task 3."""

PLUGIN = '''
import os
import signal

from sscl_core import Callback, component, hookimpl


@component
class StopAt(Callback):
    """Signals its own process right after global iteration SSCL_TEST_STOP_AT."""

    name = "test-stop-at"

    @hookimpl
    def after_iter(self, ctx):
        at = os.environ.get("SSCL_TEST_STOP_AT")
        if at is not None and ctx.global_iter == int(at):
            os.kill(os.getpid(), getattr(signal, "SIG" + os.environ.get("SSCL_TEST_SIGNAL", "KILL")))


@hookimpl
def register_callbacks(register):
    register(StopAt)
'''


@pytest.fixture(scope="module")
def stop_plugin(tmp_path_factory):
    """A folder holding the stopping plugin as an installed distribution would."""
    folder = tmp_path_factory.mktemp("stop-plugin")
    (folder / "sscl_test_stop.py").write_text(PLUGIN)
    info = folder / "sscl_test_stop-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sscl-test-stop\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[sscl]\nstop = sscl_test_stop\n")
    return folder


def first_party_methods():
    """(name, scenario) of every method the first-party plugins register, with a scenario digits supports."""
    registry = load_registry()
    cases = []
    for name in registry.names("method"):
        if not registry.distribution_of("method", name).startswith("sscl-plugin-"):
            continue
        supported = [s for s in ("task-il", "class-il") if s in registry.get("method", name).compatibility]
        cases.append(pytest.param(name, supported[0] if supported else None, id=name))
    return cases


def run_args(method, scenario, output_dir):
    settings = [
        f"dataset.scenario={scenario}",
        f"dataset.num_tasks={TASKS}",
        f"train.iters_per_task={ITERS}",
        "train.batch_size=4",
        "train.uratio=2",
        "train.virtual_epoch_iters=4",
        "train.log_every=1",
        "device=cpu",
        f"output_dir={output_dir}",
        "run_name=run",
        "callbacks=[test-stop-at]",
    ]
    args = ["run", "--method", method, "--dataset", "digits", "--backbone", "small-cnn"]
    for setting in settings:
        args += ["--set", setting]
    return args


def run_stopped(args, plugin, signal_name="KILL"):
    """Run ``sscl`` in a subprocess that stops itself after global iteration STOP_AT."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugin), env.get("PYTHONPATH")]))
    env.update(SSCL_TEST_STOP_AT=str(STOP_AT), SSCL_TEST_SIGNAL=signal_name, OMP_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, "-m", "sscl_core.cli", *args], env=env, capture_output=True, text=True, timeout=300
    )


def events(run_dir):
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]


def final_model(run_dir):
    return torch.load(checkpoint_file(run_dir, TASKS), weights_only=True)["model"]


@pytest.fixture
def in_process(stop_plugin, monkeypatch, sscl):
    """The in-process CLI on one torch thread, seeing the stopping plugin, which stays idle."""
    monkeypatch.syspath_prepend(str(stop_plugin))
    monkeypatch.delenv("SSCL_TEST_STOP_AT", raising=False)
    monkeypatch.delenv("SSCL_LOAD_PLUGINS", raising=False)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield sscl
    torch.set_num_threads(threads)


@pytest.mark.parametrize(("method", "scenario"), first_party_methods())
def test_sigkill_in_task_3_then_resume_is_bit_for_bit(method, scenario, stop_plugin, in_process, tmp_path):
    if scenario is None:
        pytest.skip(f"{method} supports no scenario of the digits stream")
    killed = run_stopped(run_args(method, scenario, tmp_path / "killed"), stop_plugin)
    assert killed.returncode == -9, killed.stderr
    run_dir = tmp_path / "killed" / "run"
    assert read_manifest(run_dir).tasks_done == 2
    log = events(run_dir)
    assert [e["task"] for e in log if e["event"] == "task_start"] == [0, 1, 2]
    assert [e["task"] for e in log if e["event"] == "val"] == [0, 1]
    timing_before = json.loads((run_dir / "metrics.json").read_text())["timing"]

    code, out, err = in_process("run", "--resume", str(run_dir))
    assert code == 0, err
    code, _, err = in_process(*run_args(method, scenario, tmp_path / "reference"))
    assert code == 0, err

    resumed = json.loads((run_dir / "metrics.json").read_text())
    reference = json.loads((tmp_path / "reference" / "run" / "metrics.json").read_text())
    assert resumed["accuracy"] == reference["accuracy"]
    assert resumed["tasks_done"] == TASKS
    assert resumed["timing"]["iteration_seconds"][:2] == timing_before["iteration_seconds"]
    assert len(resumed["timing"]["iteration_seconds"]) == TASKS
    ours, theirs = final_model(run_dir), final_model(tmp_path / "reference" / "run")
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)
    log = events(run_dir)
    assert [e["event"] for e in log].count("run_resume") == 1
    assert [e["task"] for e in log if e["event"] == "val"] == [0, 1, 2, 3]
    assert log[-1]["event"] == "run_end"


@pytest.mark.parametrize(("signal_name", "exit_code"), [("INT", 130), ("TERM", 143)])
def test_sigint_and_sigterm_stop_cleanly(signal_name, exit_code, stop_plugin, in_process, tmp_path):
    args = run_args("er", "task-il", tmp_path / "stopped")
    stopped = run_stopped(args, stop_plugin, signal_name)
    assert stopped.returncode == exit_code
    assert "Traceback" not in stopped.stderr
    lines = stopped.stderr.strip().splitlines()
    assert len(lines) == 1, stopped.stderr
    run_dir = tmp_path / "stopped" / "run"
    assert f"stopped by SIG{signal_name}; the checkpoint after task 2 of {TASKS} is kept" in lines[0]
    assert f"resume with 'sscl run --resume {run_dir}'" in lines[0]
    log = events(run_dir)
    assert log[-1] == {**log[-1], "event": "run_interrupted", "tasks_done": 2}
    finished_iters = [(e["task"], e["iter"]) for e in log if e["event"] == "iter"]
    assert finished_iters[-1] == (2, STOP_AT - 2 * ITERS), "the iteration in progress was not finished"
    assert read_manifest(run_dir).tasks_done == 2 and (run_dir / MANIFEST_FILE).exists()

    code, _, err = in_process("run", "--resume", str(run_dir))
    assert code == 0, err
    code, _, err = in_process(*run_args("er", "task-il", tmp_path / "reference"))
    assert code == 0, err
    resumed = json.loads((run_dir / "metrics.json").read_text())
    reference = json.loads((tmp_path / "reference" / "run" / "metrics.json").read_text())
    assert resumed["accuracy"] == reference["accuracy"]
