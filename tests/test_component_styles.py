"""Third-party components written in every class style (attrs, frozen attrs, dataclasses, plain classes, with
and without ``__eq__``) register, run alone and composed, describe their hyperparameters, pass the conformance
kit and resume bit for bit."""

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sscl_core import SsclError, testing
from sscl_core.api.components import build, hyperparameters

PACKAGE = Path(__file__).resolve().parent / "third_party" / "sscl-styles-plugin"
ITERS = 8
STREAM = [
    "--dataset",
    "styled-stream",
    "--backbone",
    "styled-mlp",
    "--set",
    f"train.iters_per_task={ITERS}",
    "--set",
    "train.batch_size=4",
    "--set",
    "train.uratio=2",
    "--set",
    "device=cpu",
]


@pytest.fixture(scope="module")
def styles_site(install_package):
    return install_package(PACKAGE)


def sscl(site, *args, cwd):
    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        "SSCL_LOAD_PLUGINS": "sscl-styles-plugin,sscl-plugin-ssl,sscl-plugin-active",
        "OMP_NUM_THREADS": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "sscl_core.cli", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


def events(run_dir):
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]


def test_every_style_registers(styles_site, tmp_path):
    result = sscl(styles_site, "plugins", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (row,) = [r for r in json.loads(result.stdout) if r["distribution"] == "sscl-styles-plugin"]
    assert row["error"] is None
    assert row["components"] == {
        "dataset": ["styled-stream"],
        "backbone": ["styled-mlp"],
        "method": ["styled-replay"],
        "unlabeled_loss": ["styled-consistency"],
        "memory_pool": ["styled-pool"],
        "query_strategy": ["styled-least-confidence"],
        "callback": ["styled-counter"],
    }


@pytest.mark.parametrize(
    ("label", "extra"),
    [
        ("alone", ["--method", "styled-replay"]),
        ("with-fixmatch", ["--method", "styled-replay+fixmatch"]),
        (
            "composed",
            [
                "--method",
                "styled-replay+styled-consistency",
                "--set",
                "callbacks=[{name: styled-counter, every: 2}]",
                "--set",
                "active_learning={strategy: styled-least-confidence, budget_per_class: 3, power: 2}",
            ],
        ),
    ],
)
def test_runs_alone_and_composed_end_without_a_traceback(styles_site, tmp_path, label, extra):
    result = sscl(styles_site, "run", *STREAM, *extra, "--set", f"run_name={label}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    run_dir = tmp_path / "runs" / label
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["tasks_done"] == 3
    if label == "composed":
        counts = [e["count"] for e in events(run_dir) if e["event"] == "styled_count"]
        assert counts == [ITERS // 2, ITERS, 3 * ITERS // 2], "the dataclass callback did not count iterations"
        assert metrics["active_learning"]["strategy"] == "styled-least-confidence"
        config = (run_dir / "config.yaml").read_text()
        assert "power: 2" in config and "every: 2" in config and "temperature: 1.0" in config


def test_describe_shows_dataclass_attrs_and_plain_fields_alike(styles_site, sscl, monkeypatch):
    monkeypatch.syspath_prepend(str(styles_site))
    importlib.invalidate_caches()
    monkeypatch.setenv("SSCL_LOAD_PLUGINS", "sscl-styles-plugin")
    shown = {
        ("callback", "styled-counter"): ["every (an integer, default 1): count one in this many iterations"],
        ("method", "styled-replay"): ["replay (an integer, default 4): samples replayed per iteration"],
        ("unlabeled_loss", "styled-consistency"): ["temperature (a number, default 1.0)", "weight", "warmup"],
        ("dataset", "styled-stream"): ["tasks (an integer, default 3): number of tasks", "scenario"],
        ("backbone", "styled-mlp"): ["width (an integer, default 24)", "depth (an integer, default 1)"],
        ("memory_pool", "styled-pool"): ["size (an integer, default 16)"],
        ("query_strategy", "styled-least-confidence"): ["power (a number, default 1.0)"],
    }
    for (kind, name), fragments in shown.items():
        code, out, err = sscl("describe", kind, name)
        assert code == 0, err
        for fragment in fragments:
            assert fragment in out, (kind, name, fragment, out)
    _code, out, _err = sscl("describe", "callback", "styled-counter")
    assert "\n  count" not in out.split("hyperparameters:")[1], "state (init=False) is not a hyperparameter"


@pytest.fixture
def styles(monkeypatch):
    """The package's component module, imported in this process from its source folder."""
    monkeypatch.syspath_prepend(str(PACKAGE / "src"))
    from sscl_styles import components

    return components


def test_conformance_kit_checks_each_style(styles, tmp_path):
    testing.check_method(styles.AttrsReplay, tmp_path / "method", extra=(styles.PlainPool,))
    testing.check_unlabeled_loss(styles.FrozenConsistency, tmp_path / "loss")
    testing.check_memory_pool(styles.PlainPool)
    testing.check_query_strategy(styles.PlainLeastConfidence, power=2.0)


def test_kill_and_resume_of_an_attrs_method_with_a_plain_pool_is_bit_for_bit(styles, tmp_path):
    resumed = testing.check_resume(styles.AttrsReplay, tmp_path, extra=(styles.PlainPool,))
    assert resumed.metrics["tasks_done"] == 3


def test_base_fields_a_dataclass_or_plain_init_does_not_take_are_set_and_validated(styles):
    pool = build(styles.PlainPool, {"size": 5}, "memory_pool 'styled-pool'")
    assert pool.size == 5 and hyperparameters(pool) == {"size": 5}
    stream = build(styles.FrozenDataclassStream, {"scenario": "class-il", "tasks": 2}, "dataset")
    assert stream.scenario == "class-il" and hyperparameters(stream) == {"tasks": 2, "scenario": "class-il"}
    assert build(styles.FrozenDataclassStream, {}, "dataset").scenario == "task-il"
    with pytest.raises(SsclError, match="dataset: .*scenario"):
        build(styles.FrozenDataclassStream, {"scenario": "sideways"}, "dataset")
