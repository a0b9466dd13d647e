"""The docs' third-party example package installs from its own pyproject and trains through `sscl run`."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "sscl-example-plugin"


@pytest.fixture(scope="module")
def example_site(install_package):
    """The example package installed (as a wheel, not editable) into a private folder put on PYTHONPATH."""
    return install_package(EXAMPLE)


def sscl(site, *args, cwd):
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run(
        [sys.executable, "-m", "sscl_core.cli", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_example_plugin_is_listed(example_site, tmp_path):
    result = sscl(example_site, "plugins", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = {row["distribution"]: row for row in json.loads(result.stdout)}
    example = rows["sscl-example-plugin"]
    assert example["error"] is None
    assert example["components"] == {"method": ["lwf"], "callback": ["forgetting-alarm"]}
    assert example["hooks"] == ["register_callbacks", "register_methods"]


def test_run_trains_with_the_example_method_and_callback(example_site, tmp_path):
    result = sscl(
        example_site,
        "run",
        "--method",
        "lwf",
        "--set",
        "callbacks=[{name: forgetting-alarm, threshold: 0, protocol: class-il}]",
        "--set",
        "train.iters_per_task=15",
        "--set",
        "run_name=lwf",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    run_dir = tmp_path / "runs" / "lwf"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["method"] == "lwf" and metrics["tasks_done"] == 5
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert any("distill" in e.get("losses", {}) for e in events if e["event"] == "iter")
    assert any(e["event"] == "forgetting_alarm" for e in events), "the callback never ran"


def test_the_example_method_composes_with_fixmatch(example_site, tmp_path):
    result = sscl(
        example_site,
        "run",
        "--method",
        "lwf+fixmatch",
        "--set",
        "train.iters_per_task=15",
        "--set",
        "unlabeled.threshold=0.5",
        "--set",
        "run_name=lwf-fixmatch",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    run_dir = tmp_path / "runs" / "lwf-fixmatch"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["method"] == "lwf+fixmatch" and metrics["tasks_done"] == 5
    losses = [
        e["losses"] for e in map(json.loads, (run_dir / "events.jsonl").read_text().splitlines()) if "losses" in e
    ]
    assert any("distill" in x for x in losses) and all("fixmatch" in x for x in losses)
