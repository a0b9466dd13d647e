"""Every method of the plugin trains on the embedded digits stream with the first-party dataset and backbone."""

import pytest

from sscl_core.config.run_config import load_config
from sscl_core.plugins.registry import load_registry
from sscl_core.run.trainer import Trainer

RUNS = {
    "finetune": [],
    "er": [],
    "der": [],
    "derpp": [],
    "si": [],
    "ewc-online": [],
    "pnn": ["dataset.scenario=task-il"],
    "er+class-balanced": ["memory_pool.name=class-balanced"],
}


@pytest.mark.parametrize("label", RUNS)
def test_method_trains_on_digits(label, tmp_path):
    method = label.split("+")[0]
    config = load_config(
        overrides=[
            f"method={method}",
            "dataset=digits",
            "device=cpu",
            "train.iters_per_task=30",
            f"output_dir={tmp_path}",
            *RUNS[label],
        ]
    )
    metrics = Trainer(config, load_registry()).run().metrics
    task_il = metrics["accuracy"]["task-il"]
    assert len(task_il) == 5
    assert task_il[0][0] > 75, "the first task did not learn"
    assert metrics["summary"]["task-il"]["mean_average_accuracy"] > 60
    if method in ("er", "der", "derpp"):
        assert metrics["memory"]["pool_samples"] > 0
