"""A problem kind arrives as a plugin: a test package adds regression (a stream of numeric targets, its model and
an evaluator) through the public API alone, and finetune and er train on it; mismatched kinds are refused in one
line before any data loads."""

import importlib
import json
from pathlib import Path

import pytest
import torch

import sscl_core

PACKAGE = Path(__file__).resolve().parent / "third_party" / "sscl-regression-plugin"
CORE = Path(sscl_core.__file__).parent


@pytest.fixture(scope="module")
def regression_site(install_package):
    return install_package(PACKAGE)


@pytest.fixture
def cli(regression_site, sscl, monkeypatch):
    """The in-process CLI seeing the regression package, the cl methods and the backbones only."""
    monkeypatch.syspath_prepend(str(regression_site))
    importlib.invalidate_caches()
    monkeypatch.setenv("SSCL_LOAD_PLUGINS", "sscl-regression-plugin,sscl-plugin-cl,sscl-plugin-backbones")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield sscl
    torch.set_num_threads(threads)


RUN = ["run", "--dataset", "linear-targets", "--backbone", "lenet", "--set", "train.iters_per_task=30"]


@pytest.mark.parametrize("method", ["finetune", "er"])
def test_finetune_and_er_train_on_a_regression_stream(cli, tmp_path, method):
    code, out, err = cli(*RUN, "--method", method, "--set", f"run_name={method}", "--set", "device=cpu")
    assert code == 0, err
    metrics = json.loads((tmp_path / "runs" / method / "metrics.json").read_text())
    assert metrics["evaluation"] == {
        "evaluator": "negative-mse",
        "key": "regression",
        "metrics": ["neg-mse"],
        "unit": "",
    }
    matrix = metrics["regression"]["neg-mse"]
    assert [len([v for v in row if v is not None]) for row in matrix] == [1, 2, 3]
    assert all(v < 0 for row in matrix for v in row if v is not None)
    assert set(metrics["summary"]) == {"neg-mse"} and "accuracy" not in metrics
    assert (metrics["problem"], metrics["model_component"]) == ("regression", "regressor")
    assert "neg-mse: mean average regression" in out
    config = (tmp_path / "runs" / method / "config.yaml").read_text()
    assert "model:\n  name: regressor" in config and "evaluator:\n  name: negative-mse" in config


def test_training_lowers_the_error_of_the_task_just_learned(cli, tmp_path):
    short = cli(*RUN, "--method", "er", "--set", "run_name=short", "--set", "train.iters_per_task=1")
    long = cli(*RUN, "--method", "er", "--set", "run_name=long", "--set", "train.iters_per_task=60")
    assert short[0] == long[0] == 0, short[2] + long[2]

    def diagonal(name):
        matrix = json.loads((tmp_path / "runs" / name / "metrics.json").read_text())["regression"]["neg-mse"]
        return [matrix[i][i] for i in range(3)]

    assert sum(diagonal("long")) > sum(diagonal("short"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "der"], "method 'der' works on classification streams, but dataset 'linear-targets' is a "
         "regression stream: choose a method for regression or another dataset"),
        (["--method", "er", "--set", "model=classifier"], "model 'classifier' works on classification streams"),
        (["--method", "er", "--set", "evaluator=accuracy"], "evaluator 'accuracy' works on classification streams"),
    ],
)
def test_a_component_for_another_problem_kind_is_one_line_before_any_data_loads(cli, args, message, monkeypatch):
    from sscl_regression.plugin import LinearTargets

    def no_data(self, seed):
        raise AssertionError("data loaded before the check")

    monkeypatch.setattr(LinearTargets, "build_stream", no_data)
    code, _out, err = cli(*RUN, *args)
    assert code == 2 and "Traceback" not in err
    assert err.startswith("sscl: error: " + message), err


def test_no_core_file_mentions_the_new_problem_kind():
    for path in CORE.rglob("*.py"):
        text = path.read_text().lower()
        assert "regression" not in text and "linear-targets" not in text, path
