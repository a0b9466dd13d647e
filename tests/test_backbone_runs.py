"""`sscl run --backbone NAME` trains one short task with er for every registered backbone (32x32x3 CIFAR files)."""

import json
import math

import pytest
import torch

from sscl_core.plugins.registry import load_registry
from sscl_core.run.cost import backbone_costs
from sscl_plugin_datasets.cifar_writer import write_cifar10

REGISTRY = load_registry()
BACKBONES = REGISTRY.names("backbone")
ITERATIONS = 2


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One thread: on a machine shared with other jobs, two spinning threads made a run up to 40x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def cifar_root(tmp_path_factory):
    """A CIFAR-10 folder of random images: 4 training and 2 test images per class."""
    generator = torch.Generator().manual_seed(0)
    train_y, test_y = torch.arange(10).repeat(4), torch.arange(10).repeat(2)
    train_x = torch.randint(0, 256, (len(train_y), 3, 32, 32), dtype=torch.uint8, generator=generator)
    test_x = torch.randint(0, 256, (len(test_y), 3, 32, 32), dtype=torch.uint8, generator=generator)
    return write_cifar10(tmp_path_factory.mktemp("cifar"), train_x, train_y, test_x, test_y)


def test_every_first_party_backbone_is_registered():
    assert len(BACKBONES) >= 13 and {"small-cnn", "resnet18", "ran-92", "inceptionv3"} <= set(BACKBONES)


@pytest.mark.parametrize("backbone", BACKBONES)
def test_er_trains_one_task_on_the_backbone(sscl, tmp_path, cifar_root, backbone):
    settings = {
        "dataset.root": cifar_root,
        "dataset.num_tasks": 1,
        "dataset.labels_per_class": 2,
        "train.iters_per_task": ITERATIONS,
        "train.batch_size": 2,
        "method.replay_batch_size": 2,
        "train.eval_batch_size": 4,
        "device": "cpu",
        "output_dir": tmp_path / "runs",
        "run_name": backbone,
    }
    overrides = [a for key, value in settings.items() for a in ("--set", f"{key}={value}")]
    code, out, err = sscl("run", "--dataset", "cifar10", "--method", "er", "--backbone", backbone, *overrides)
    assert code == 0, err
    assert "task 1/1" in out
    run_dir = tmp_path / "runs" / backbone
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert (metrics["backbone"], metrics["method"], metrics["tasks_done"]) == (backbone, "er", 1)
    assert len(metrics["timing"]["iteration_seconds"][0]) == ITERATIONS
    (expected,) = backbone_costs(REGISTRY.get("backbone", backbone)(), [(3, 32, 32)], 10)
    assert metrics["model"] == {
        "parameters": expected["parameters"],
        "macs": expected["macs"],
        "input_shape": [3, 32, 32],
    }
    iterations = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    last = [event for event in iterations if event["event"] == "iter"][-1]
    assert last["iter"] == ITERATIONS - 1 and set(last["losses"]) == {"ce", "replay_ce"}
    assert all(math.isfinite(value) for value in last["losses"].values())
