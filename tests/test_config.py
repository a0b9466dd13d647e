"""Config loading: defaults, YAML files, component shorthands and --set overrides."""

import pytest
import torch

from sscl_core import SsclError
from sscl_core.config.run_config import RunConfig, load_config


def test_defaults_are_the_digits_demo():
    config = load_config()
    assert config.dataset == {"name": "digits"}
    assert config.method == {"name": "edgehml"}
    assert config.train.iters_per_task == 200 and config.train.batch_size == 8 and config.train.uratio == 7


def test_yaml_file_and_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("seed: 3\nmethod: {name: er, replay_batch_size: 4}\ntrain: {lr: 0.1}\n")
    config = load_config(path, ["train.lr=0.05", "method.replay_weight=0.5", "train.lr_milestones=[0.5]"])
    assert config.seed == 3
    assert config.method == {"name": "er", "replay_batch_size": 4, "replay_weight": 0.5}
    assert config.train.lr == 0.05 and config.train.lr_milestones == [0.5]


def test_component_choice_replaces_its_settings(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("method: {name: er, replay_batch_size: 4}\n")
    assert load_config(path, [], {"method": "finetune"}).method == {"name": "finetune"}


def test_set_on_a_shorthand_component():
    assert load_config(overrides=["method.warmup=0.5"]).method == {"name": "edgehml", "warmup": 0.5}


def test_int_is_accepted_for_float_but_not_bool():
    assert load_config(overrides=["train.lr=1"]).train.lr == 1.0
    with pytest.raises(SsclError, match="expected a number"):
        load_config(overrides=["train.lr=true"])


def test_milestones_must_be_fractions():
    with pytest.raises(SsclError, match="fractions"):
        load_config(overrides=["train.lr_milestones=[800]"])


def test_learning_rate_schedule_restarts_per_task():
    train = load_config(overrides=["train.iters_per_task=1000"]).train
    assert [train.lr_at(k) for k in (0, 799, 800, 899, 900, 999)] == pytest.approx(
        [0.03, 0.03, 0.003, 0.003, 0.0003, 0.0003]
    )


def test_round_trip_through_to_dict():
    config = load_config(overrides=["callbacks=[recorder]"])
    assert config.to_dict()["callbacks"] == [{"name": "recorder"}]
    assert isinstance(config, RunConfig)


def test_memory_pool_settings_without_a_name_complete_the_methods_default(tmp_path):
    from sscl_core import testing
    from sscl_plugin_cl.er import ExperienceReplay
    from sscl_plugin_cl.reservoir import ReservoirPool

    registry = testing.make_registry(ExperienceReplay, ReservoirPool)
    config = testing.tiny_config(tmp_path, "er", ["memory_pool.size=7"])
    from sscl_core.run.resolve import resolve_components

    pool = resolve_components(config, registry).memory_pool
    assert isinstance(pool, ReservoirPool) and pool.size == 7


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("train.batch_size=100000000", "batch_size must be between 1 and 65536"),
        ("train.eval_batch_size=0", "eval_batch_size must be between 1 and 65536"),
        ("train.uratio=10000", r"batch_size \* uratio \(the unlabeled batch\) must be at most 65536, got 8 \* 10000"),
    ],
)
def test_batch_sizes_are_bounded(setting, message):
    with pytest.raises(SsclError, match=message):
        load_config(overrides=[setting])


@pytest.mark.parametrize(("name", "kind"), [("sgd", "SGD"), ("adam", "Adam"), ("adamw", "AdamW")])
def test_the_optimizer_comes_from_the_config(name, kind):
    train = load_config(overrides=[f"train.optimizer={name}", "train.lr=0.5", "train.weight_decay=0.01"]).train
    optimizer = train.make_optimizer([torch.nn.Parameter(torch.zeros(2))], task_iter=0)
    assert type(optimizer).__name__ == kind
    assert optimizer.param_groups[0]["lr"] == 0.5 and optimizer.param_groups[0]["weight_decay"] == 0.01
    late = train.make_optimizer([torch.nn.Parameter(torch.zeros(2))], task_iter=train.iters_per_task - 1)
    assert late.param_groups[0]["lr"] == pytest.approx(0.5 * 0.1**2)
    with pytest.raises(SsclError, match="optimizer must be one of sgd, adam, adamw, got 'adma'; did you mean 'adam'"):
        load_config(overrides=["train.optimizer=adma"])
