"""End-to-end runs of the first-party plugins on the embedded digits stream."""

import json


def test_default_run_prints_the_results(sscl, tmp_path):
    code, out, err = sscl("run", "--set", "train.iters_per_task=25")
    assert code == 0, err
    for text in (
        "task 5/5",
        "task-il accuracy (%)",
        "class-il accuracy (%)",
        "mean average accuracy",
        "forgetting",
        "median iteration time",
        "run directory: runs/",
    ):
        assert text in out
    (run_dir,) = (tmp_path / "runs").iterdir()
    config = (run_dir / "config.yaml").read_text()
    assert "name: digits" in config and "labels_per_class: 5" in config and "name: edgehml" in config
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert len(metrics["accuracy"]["task-il"]) == 5
    assert metrics["accuracy"]["task-il"][0][0] > 75, "the first task did not learn: the run collapsed"


def test_same_config_and_seed_give_identical_matrices(sscl, tmp_path):
    args = ("run", "--method", "er", "--set", "train.iters_per_task=20", "--set", "seed=3")
    assert sscl(*args, "--set", "run_name=a")[0] == 0
    assert sscl(*args, "--set", "run_name=b")[0] == 0
    a = json.loads((tmp_path / "runs" / "a" / "metrics.json").read_text())["accuracy"]
    b = json.loads((tmp_path / "runs" / "b" / "metrics.json").read_text())["accuracy"]
    assert a == b


def test_missing_dataset_root_is_one_line(sscl, tmp_path):
    code, _out, err = sscl("run", "--dataset", "mnist", "--set", f"dataset.root={tmp_path / 'nowhere'}")
    assert code == 2 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert "nowhere" in err


def test_describe_lists_fields_and_scenarios(sscl):
    code, out, _err = sscl("describe", "method", "er")
    assert code == 0
    assert "compatibility: task-il, class-il, domain-il" in out
    assert "replay_batch_size (an integer, default 8)" in out


def test_list_json(sscl):
    code, out, _err = sscl("list", "datasets", "--json")
    assert code == 0
    names = {row["name"] for row in json.loads(out)}
    assert {"digits", "fashion-mnist", "mnist", "cifar10", "cifar100", "tinyimagenet"} <= names
