"""Bad input on the command line ends in one clear line and exit code 2, never a traceback."""

import pytest
import torch.nn.functional as F

from sscl_core import Method, cli, component, testing


@component
class TaskOnly(Method):
    """A method that supports task-IL only."""

    name = "task-only"
    compatibility = ("task-il",)

    def forward_train(self, batch, ctx):
        return {"ce": F.cross_entropy(ctx.model(batch.x), batch.y)}


@pytest.fixture(autouse=True)
def synthetic_registry(monkeypatch):
    """The CLI sees the synthetic dataset, the tiny backbone and a task-IL-only method."""
    monkeypatch.setattr(cli, "load_registry", lambda: testing.make_registry(TaskOnly))


SYNTHETIC = ("--dataset", "synthetic", "--backbone", "tiny-mlp", "--method", "task-only")


def assert_one_line_error(result, *fragments):
    code, _out, err = result
    assert code == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_unknown_top_level_key(sscl, tmp_path):
    (tmp_path / "c.yaml").write_text("trian:\n  lr: 0.1\n")
    assert_one_line_error(sscl("run", "c.yaml"), "unknown setting 'trian'", "did you mean 'train'")


def test_unknown_nested_key(sscl):
    assert_one_line_error(
        sscl("run", "--set", "train.iter_per_task=3"), "config.train", "did you mean 'iters_per_task'"
    )


def test_wrong_type(sscl):
    assert_one_line_error(sscl("run", "--set", "train.lr=fast"), "config.train.lr", "expected a number", "'fast'")


def test_wrong_value(sscl):
    assert_one_line_error(sscl("run", "--set", "train.iters_per_task=0"), "iters_per_task must be > 0")


def test_unknown_component_with_close_match(sscl):
    assert_one_line_error(
        sscl("run", "--dataset", "synthetc", *SYNTHETIC[2:]),
        "unknown dataset 'synthetc'",
        "did you mean 'synthetic'",
    )


def test_unknown_component_parameter(sscl):
    assert_one_line_error(
        sscl("run", *SYNTHETIC, "--set", "dataset.num_task=3"),
        "dataset 'synthetic': unknown setting 'num_task'",
        "did you mean 'num_tasks'",
    )


def test_method_incompatible_with_scenario(sscl):
    assert_one_line_error(
        sscl("run", *SYNTHETIC, "--set", "dataset.scenario=class-il"),
        "method 'task-only' supports task-il",
        "class-il",
    )


def test_bad_scenario_value(sscl):
    assert_one_line_error(
        sscl("run", *SYNTHETIC, "--set", "dataset.scenario=class"),
        "scenario must be one of",
        "did you mean 'class-il'",
    )


def test_invalid_yaml(sscl, tmp_path):
    (tmp_path / "bad.yaml").write_text("train: [unclosed\n")
    assert_one_line_error(sscl("run", "bad.yaml"), "not valid YAML", "line")


def test_missing_config_file(sscl):
    assert_one_line_error(sscl("run", "nope.yaml"), "nope.yaml does not exist")


def test_yaml_that_is_not_a_mapping(sscl, tmp_path):
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    assert_one_line_error(sscl("run", "list.yaml"), "must hold a mapping")


def test_unsafe_yaml_tag_is_refused(sscl, tmp_path):
    (tmp_path / "evil.yaml").write_text("seed: !!python/object/apply:os.system ['echo pwned']\n")
    assert_one_line_error(sscl("run", "evil.yaml"), "not valid YAML")


def test_malformed_set(sscl):
    assert_one_line_error(sscl("run", "--set", "train.lr"), "expected KEY=VALUE")


def test_unknown_command_option(sscl):
    assert_one_line_error(sscl("run", "--metod", "er"), "unrecognized arguments")


def test_unknown_kind(sscl):
    assert_one_line_error(sscl("list", "metods"), "unknown component kind", "did you mean")


def test_unknown_device(sscl):
    assert_one_line_error(
        sscl("run", *SYNTHETIC, "--set", "device=tpu"),
        "device",
    )
