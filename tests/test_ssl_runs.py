"""Continual methods composed with the semi-supervised losses of sscl-plugin-ssl, trained on digits."""

from __future__ import annotations

import json
from typing import ClassVar

import pytest
import torch

from sscl_core import Callback, component, hookimpl
from sscl_core.cli import main
from sscl_core.config.run_config import load_config
from sscl_core.plugins.registry import load_registry
from sscl_core.run.trainer import Trainer

SEED_PAIRS = ("der+fixmatch", "der+flexmatch", "der+uda", "der+mixmatch", "er+fixmatch")
"""The compositions of the seed's comparison."""

LOSS_TERMS = {"fixmatch": "fixmatch", "flexmatch": "flexmatch", "uda": "uda", "mixmatch": "mixmatch"}


def digits_run(tmp_path, method, overrides=()):
    config = load_config(
        overrides=[
            f"output_dir={tmp_path}",
            "device=cpu",
            "train.iters_per_task=12",
            "train.log_every=1",
            "run_name=run",
            *overrides,
        ],
        components={"method": method},
    )
    return Trainer(config, load_registry()).run()


def logged_losses(run_dir):
    lines = (run_dir / "events.jsonl").read_text().splitlines()
    return [e["losses"] for e in map(json.loads, lines) if e["event"] == "iter"]


@pytest.mark.parametrize("method", SEED_PAIRS)
def test_every_seed_pair_trains_on_digits(tmp_path, method):
    base, loss = method.split("+")
    result = digits_run(tmp_path, method)
    assert result.metrics["method"] == method and result.metrics["tasks_done"] == 5
    losses = logged_losses(result.run_dir)
    assert len(losses) == 60
    ramped = loss == "mixmatch"  # its weight rises from 0: no term in the task's first iteration
    assert all(LOSS_TERMS[loss] in step and "ce" in step for step in losses[int(ramped) : 12])
    assert any("der_mse" in step for step in losses) == (base == "der")
    task_il = result.metrics["accuracy"]["task-il"]
    assert task_il[0][0] > 60, f"{method} learned nothing on the first task: {task_il[0][0]}%"


def test_warmup_skips_the_unlabeled_term(tmp_path):
    result = digits_run(tmp_path, "der+fixmatch", ["unlabeled.warmup=0.5"])
    losses = logged_losses(result.run_dir)
    assert ["fixmatch" in step for step in losses[:12]] == [False] * 6 + [True] * 6


def test_flexmatch_keeps_its_per_sample_state_in_the_checkpoint(tmp_path):
    result = digits_run(tmp_path, "der+flexmatch", ["unlabeled.threshold=0.5"])
    checkpoint = torch.load(result.run_dir / "checkpoints" / "after-task-5.pt", weights_only=True)
    state = checkpoint["components"]["unlabeled_loss:flexmatch"]
    tensors = [v for v in state.values() if torch.is_tensor(v)]
    assert tensors and tensors[0].dtype == torch.long and tensors[0].ndim == 1
    assert (tensors[0] >= 0).any(), "no unlabeled sample was ever pseudo-labeled at threshold 0.5"


def test_describe_shows_both_parts_of_a_composition(capsys):
    assert main(["describe", "method", "der+fixmatch"]) == 0
    out = capsys.readouterr().out
    assert "method 'der' from sscl-plugin-cl" in out
    assert "unlabeled_loss 'fixmatch' from sscl-plugin-ssl" in out and "threshold" in out


def test_list_unlabeled_losses(capsys):
    assert main(["list", "unlabeled-losses"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert {"fixmatch", "flexmatch", "mixmatch", "uda"} <= set(names) and names == sorted(names)


def test_bad_composition_is_one_line_exit_2(tmp_path, capsys):
    code = main(["run", "--method", "der+fixmach", "--set", f"output_dir={tmp_path}"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "unknown unlabeled_loss 'fixmach'" in err and "did you mean 'fixmatch'" in err
    assert not any(tmp_path.iterdir())


@component
class RecordLabeledWeight(Callback):
    """Keeps the labeled weight of every iteration's batch."""

    name = "record-labeled-weight"
    seen: ClassVar[list] = []

    @hookimpl
    def after_iter(self, batch):
        RecordLabeledWeight.seen.append(batch.labeled_weight)


def test_uda_annealing_leaves_confident_labeled_samples_out(tmp_path):
    RecordLabeledWeight.seen.clear()
    registry = load_registry()
    registry.add("callback", RecordLabeledWeight, "tests")
    config = load_config(
        overrides=[f"output_dir={tmp_path}", "device=cpu", "train.iters_per_task=12", "unlabeled.tsa=exp"],
        components={"method": "der+uda"},
    )
    config.callbacks = [{"name": "record-labeled-weight"}]
    result = Trainer(config, registry).run()
    weights = RecordLabeledWeight.seen
    assert len(weights) == 60 and all(w is not None and set(w.tolist()) <= {0.0, 1.0} for w in weights)
    assert any((w == 0).any() for w in weights), "the annealing never left a confident labeled sample out"
    assert result.metrics["accuracy"]["task-il"][0][0] > 60


@pytest.mark.parametrize("method", load_registry().names("method"))
def test_every_installed_method_composes_with_fixmatch(tmp_path, method):
    scenario = load_registry().get("method", method).compatibility[0]
    result = digits_run(
        tmp_path,
        f"{method}+fixmatch",
        ["train.iters_per_task=4", f"dataset.scenario={scenario}", "unlabeled.threshold=0.3"],
    )
    assert result.metrics["method"] == f"{method}+fixmatch" and result.metrics["tasks_done"] == 5
    assert all("fixmatch" in step for step in logged_losses(result.run_dir))
