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


def test_digits_in_tasks_of_three_refuses_to_drop_class_9_unless_told(sscl, tmp_path):
    code, _out, err = sscl("run", "--method", "finetune", "--set", "dataset.classes_per_task=3")
    assert code == 2 and "Traceback" not in err
    assert err.strip() == (
        "sscl: error: digits: classes_per_task=3 cuts the 10 classes into 3 tasks and would leave out class 9: "
        "set dataset.num_tasks=3 to train without it, list the classes to train in dataset.class_order, or choose "
        "a classes_per_task that divides 10"
    )
    code, out, err = sscl(
        "run", "--method", "finetune", "--set", "dataset.classes_per_task=3", "--set", "dataset.num_tasks=3",
        "--set", "train.iters_per_task=5", "--set", "run_name=three",
    )
    assert code == 0, err
    assert "training without classes [9]" in out
    run_dir = tmp_path / "runs" / "three"
    config = (run_dir / "config.yaml").read_text()
    assert config.startswith("# classes left out of the stream: [9]\n") and "num_tasks: 3" in config
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["left_out_classes"] == [9] and metrics["tasks_done"] == 3
