"""A run writes its resolved config, metrics and events, and is deterministic for a seed."""

import json

import yaml

from sscl_core import testing
from sscl_plugin_cl.finetune import Finetune


def test_run_directory_contents(tmp_path):
    result = testing.run_tiny(testing.make_registry(Finetune), tmp_path, "finetune")
    config = yaml.safe_load((result.run_dir / "config.yaml").read_text())
    assert config["method"] == {"name": "finetune", "ce_classes": "all"}
    assert config["dataset"]["name"] == "synthetic" and config["dataset"]["labels_per_class"] == 4
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    for protocol in ("task-il", "class-il"):
        matrix = metrics["accuracy"][protocol]
        assert len(matrix) == 2 and matrix[0][1] is None and all(0 <= v <= 100 for v in matrix[1])
        assert set(metrics["summary"][protocol]) == {
            "mean_average_accuracy",
            "final_average_accuracy",
            "average_forgetting",
            "backward_transfer",
        }
    timing = metrics["timing"]
    assert [len(t) for t in timing["iteration_seconds"]] == [12, 12]
    assert len(timing["task_train_seconds"]) == 2 and timing["median_iteration_seconds"] > 0
    assert metrics["memory"]["peak_rss_bytes"] > 10 * 2**20
    assert metrics["machine"]["torch"]
    events = [json.loads(line)["event"] for line in (result.run_dir / "events.jsonl").read_text().splitlines()]
    assert events[0] == "run_start" and events[-1] == "run_end"
    assert events.count("task_start") == 2 and events.count("val") == 2


def test_same_seed_same_matrices_other_seed_differs(tmp_path):
    registry = testing.make_registry(Finetune)
    a = testing.run_tiny(registry, tmp_path / "a", "finetune", ["seed=5"])
    b = testing.run_tiny(registry, tmp_path / "b", "finetune", ["seed=5"])
    c = testing.run_tiny(registry, tmp_path / "c", "finetune", ["seed=6"])
    assert a.metrics["accuracy"] == b.metrics["accuracy"]
    assert a.metrics["accuracy"] != c.metrics["accuracy"]
