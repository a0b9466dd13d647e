"""sscl bench --executor ray on one local Ray instance (2 CPUs): a grid against the local executor, a worker killed
in the middle of a run, Ctrl-C, and addresses and folders the workers cannot use."""

import json
import os
import re
import signal
import threading
import time

import pytest

from sscl_core import SsclError
from sscl_core.run.checkpoint import read_manifest
from sscl_plugin_bench.protocol import Resources
from sscl_plugin_bench.ray_executor import RayExecutor
from sscl_plugin_bench.runner import prepare_out

ray = pytest.importorskip("ray")

SMALL = ["--set", "dataset.test_per_class=10"]
GRID = ["bench", "digits-5", "--methods", "er", "der", "--seeds", "0", "1", "--grid", "memory_pool.size=20,50"]


@pytest.fixture(scope="module", autouse=True)
def ray_instance():
    """One local Ray instance for the module; the bench joins it instead of starting its own."""
    ray.init(address="local", num_cpus=2, include_dashboard=False, object_store_memory=100 * 2**20, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    """The local executor's runs at the Ray runs' thread count (num_cpus 1)."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def matrices(runs_dir):
    return {p.name: json.loads((p / "metrics.json").read_text())["accuracy"] for p in sorted(runs_dir.iterdir())}


def test_a_grid_on_ray_gives_the_matrices_of_the_local_executor(sscl, tmp_path):
    args = [*GRID, *SMALL, "--set", "train.iters_per_task=8"]
    code, out, err = sscl(*args, "--executor", "ray", "--out", "ray")
    assert code == 0, err
    assert "on Ray on this machine, 1 CPUs (torch threads) and 0 GPUs per run" in out
    on_ray = matrices(tmp_path / "ray" / "runs")
    assert len(on_ray) == 8 and "der,memory_pool.size=50-s1" in on_ray
    text = (tmp_path / "ray" / "results.md").read_text()
    assert "### memory_pool.size = 20" in text and "### memory_pool.size = 50" in text
    assert (tmp_path / "ray" / "plots" / "accuracy-vs-memory_pool.size.png").is_file()
    code, _, err = sscl(*args, "--jobs", "2", "--out", "local")
    assert code == 0, err
    assert matrices(tmp_path / "local" / "runs") == on_ray


def _kill_after_first_checkpoint(run_dir, log, killed):
    """Kill the worker running ``run_dir`` once its first checkpoint is written (and before its last)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not killed:
        found = re.search(r"attempt 1 on .* \(pid (\d+)\)", log.read_text()) if log.is_file() else None
        manifest = read_manifest(run_dir) if found and run_dir.is_dir() else None
        if manifest is not None and manifest.tasks_done >= 1 and not manifest.finished:
            os.kill(int(found[1]), signal.SIGKILL)
            killed.append(manifest.tasks_done)
        time.sleep(0.02)


def test_a_run_whose_worker_dies_is_retried_and_resumes_from_its_checkpoint(sscl, tmp_path):
    args = ["bench", "digits-5", "--methods", "er", "--seeds", "0", *SMALL, "--set", "train.iters_per_task=150"]
    run_dir, log, killed = tmp_path / "ray" / "runs" / "er-s0", tmp_path / "ray" / "logs" / "er-s0.log", []
    killer = threading.Thread(target=_kill_after_first_checkpoint, args=(run_dir, log, killed))
    killer.start()
    code, _, err = sscl(*args, "--executor", "ray", "--out", "ray")
    killer.join()
    assert code == 0, err
    assert killed and "attempt 2 on" in log.read_text() and "--resume" in log.read_text().split("attempt 2")[1]
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    resumed = [e for e in events if e["event"] == "run_resume"]
    assert len(resumed) == 1 and resumed[0]["tasks_done"] >= killed[0]
    code, _, err = sscl(*args, "--out", "local")
    assert code == 0, err
    assert matrices(tmp_path / "ray" / "runs") == matrices(tmp_path / "local" / "runs")


def test_ctrl_c_cancels_the_outstanding_runs_and_a_second_bench_finishes_them(sscl, tmp_path, monkeypatch):
    args = ["bench", "digits-5", "--methods", "er", "--seeds", "0", "1", *SMALL, "--set", "train.iters_per_task=40"]

    def interrupt(_run):
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr("sscl_plugin_bench.runner._summary_line", interrupt)
        code, _, err = sscl(*args, "--executor", "ray", "--out", "ray")
    assert code == 130 and "cancelled 1 outstanding runs; finished ones are kept" in err
    code, out, err = sscl(*args, "--executor", "ray", "--out", "ray")
    assert code == 0 and out.count("reusing") >= 1, err
    assert all(read_manifest(tmp_path / "ray" / "runs" / f"er-s{s}").finished for s in range(2))


@pytest.mark.parametrize(
    ("address", "message"),
    [("127.0.0.1:1", "--address 127.0.0.1:1: no Ray cluster answers there"), ("nowhere", "expected HOST:PORT")],
)
def test_an_unreachable_or_malformed_address_is_one_line_exit_2(sscl, address, message):
    code, _, err = sscl("bench", "digits-5", "--methods", "er", "--executor", "ray", "--address", address)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_an_out_folder_the_workers_do_not_see_or_cannot_write_is_one_clear_error(tmp_path):
    prepare_out(tmp_path)
    with pytest.raises(SsclError, match="the Ray workers cannot use it: node .* does not see the folder"):
        RayExecutor(Resources(), None, tmp_path, "another-token").check_shared_folder()
    token = prepare_out(tmp_path)
    (tmp_path / "logs").write_text("a file where the logs folder goes")
    with pytest.raises(SsclError, match="the Ray workers cannot use it: node .* cannot write there"):
        RayExecutor(Resources(), None, tmp_path, token).check_shared_folder()
