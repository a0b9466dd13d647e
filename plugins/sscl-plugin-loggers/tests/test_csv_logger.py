"""The ``csv`` callback: rows of losses.csv and accuracy.csv against what the run computed, the CLI, and resume
without duplicate rows (truncation to the checkpoint's sizes, after a kill in a task, after an evaluation and
before any checkpoint)."""

from __future__ import annotations

import csv
import json
import math
from types import SimpleNamespace

import pytest

from sscl_core import SsclError, cli
from sscl_core.classification.accuracy import PROTOCOLS
from sscl_core.plugins.registry import load_registry
from sscl_core.run.trainer import Trainer
from sscl_plugin_loggers.csv_logger import ACCURACY_HEADER, LOSSES_HEADER, CsvLogger
from sscl_plugin_loggers.schedule import iteration_due, logged_iterations

ITERS, TASKS = 6, 3  # as in conftest.py


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def loss_rows(path):
    header, *rows = read_rows(path)
    assert tuple(header) == LOSSES_HEADER
    return [(int(t), int(k), int(g), float(lr), name, float(v)) for t, k, g, lr, name, v in rows]


def accuracy_rows(path):
    header, *rows = read_rows(path)
    assert tuple(header) == ACCURACY_HEADER
    return [(int(i), protocol, int(j), float(a)) for i, protocol, j, a in rows]


def expected_accuracy_rows(metrics):
    matrices = metrics["accuracy"]
    return [
        (i, protocol, j, matrices[protocol][i][j])
        for i in range(len(matrices[PROTOCOLS[0]]))
        for protocol in PROTOCOLS
        for j in range(i + 1)
    ]


def test_the_plugin_registers_both_callbacks():
    registry = load_registry()
    assert registry.get("callback", "csv") is CsvLogger
    assert registry.distribution_of("callback", "csv") == "sscl-plugin-loggers"
    assert registry.distribution_of("callback", "tensorboard") == "sscl-plugin-loggers"


def test_describe_lists_the_setting(capsys):
    assert cli.main(["describe", "callback", "csv"]) == 0
    assert cli.main(["describe", "callback", "tensorboard"]) == 0
    out = capsys.readouterr().out
    assert "callback 'csv' from sscl-plugin-loggers" in out
    assert "every (an integer, default 10): write the losses every N iterations" in out


def test_schedule_takes_every_nth_iteration_and_the_last():
    assert logged_iterations(6, 4) == [0, 4, 5]
    assert logged_iterations(6, 5) == [0, 5]
    assert logged_iterations(6, 1) == list(range(6))
    assert logged_iterations(6, 10) == [0, 5]
    assert logged_iterations(1, 10) == [0]
    for iters in range(1, 30):
        for every in range(1, 12):
            count = len(logged_iterations(iters, every))
            assert count == math.ceil(iters / every) + ((iters - 1) % every != 0)
            assert all(iteration_due(k, iters, every) == (k in logged_iterations(iters, every)) for k in range(iters))


def test_rows_are_the_losses_and_accuracies_of_the_run(digits, loss_probe):
    probe, records = loss_probe
    config, registry = digits("run", "[{name: csv, every: 4}, loss-probe]", extra=(probe,))
    result = Trainer(config, registry).run()
    rows = loss_rows(result.run_dir / "losses.csv")
    expected = [
        (t, k, g, lr, name, value)
        for t, k, g, lr, losses in records
        if iteration_due(k, ITERS, 4)
        for name, value in losses.items()
    ]
    assert rows == expected
    assert sorted({(t, k) for t, k, *_ in rows}) == [(t, k) for t in range(TASKS) for k in (0, 4, 5)]
    # der's replay loss appears once its pool holds samples: the loss names change within the run
    assert {name for t, k, _g, _lr, name, _v in rows if (t, k) == (0, 0)} == {"ce"}
    assert {name for t, k, _g, _lr, name, _v in rows if (t, k) == (1, 0)} == {"ce", "der_mse"}
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert accuracy_rows(result.run_dir / "accuracy.csv") == expected_accuracy_rows(metrics)
    assert len(expected_accuracy_rows(metrics)) == 2 * TASKS * (TASKS + 1) // 2


def test_selected_on_the_command_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = cli.main(
        [
            "run",
            "--method",
            "finetune",
            "--set",
            "dataset.num_tasks=2",
            "--set",
            "train.iters_per_task=6",
            "--set",
            "device=cpu",
            "--set",
            "run_name=run",
            "--set",
            "callbacks=[{name: csv, every: 5}]",
        ]
    )
    _out, err = capsys.readouterr()
    assert code == 0, err
    run_dir = tmp_path / "runs" / "run"
    rows = loss_rows(run_dir / "losses.csv")
    assert [(t, k, g, name) for t, k, g, _lr, name, _v in rows] == [
        (0, 0, 0, "ce"),
        (0, 5, 5, "ce"),
        (1, 0, 6, "ce"),
        (1, 5, 11, "ce"),
    ]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert accuracy_rows(run_dir / "accuracy.csv") == expected_accuracy_rows(metrics)
    assert "name: csv" in (run_dir / "config.yaml").read_text()


def fake_ctx(run_dir, iters=4):
    return SimpleNamespace(
        run_dir=run_dir,
        task_index=0,
        task_iter=0,
        global_iter=0,
        optimizer=None,
        config=SimpleNamespace(train=SimpleNamespace(iters_per_task=iters)),
    )


def write_task(logger, ctx, task, iters=4):
    ctx.task_index = task
    logger.before_task(ctx=ctx)
    for k in range(iters):
        ctx.task_iter = k
        logger.after_iter(ctx=ctx, losses={"ce": 1.0 / (1 + ctx.global_iter), f"t{task}": 0.5})
        ctx.global_iter += 1
    logger.after_val(ctx=ctx, task=None, accuracies={"task-il": [90.0] * (task + 1), "class-il": [50.0] * (task + 1)})


def test_load_state_dict_truncates_rows_written_after_the_checkpoint(tmp_path):
    ctx = fake_ctx(tmp_path)
    first = CsvLogger(every=2)
    first.before_run(ctx=ctx)
    write_task(first, ctx, 0)
    state = first.state_dict()
    names = ("losses.csv", "accuracy.csv")
    assert state == {name: (tmp_path / name).stat().st_size for name in names}
    at_checkpoint = {name: (tmp_path / name).read_bytes() for name in names}
    write_task(first, ctx, 1)  # the stopped run went on past its checkpoint (files left open, as after a kill)
    assert all((tmp_path / name).stat().st_size > state[name] for name in names)

    resumed = CsvLogger(every=2)
    resumed.before_run(ctx=ctx)
    resumed.load_state_dict(state)
    assert {name: (tmp_path / name).read_bytes() for name in names} == at_checkpoint
    ctx.global_iter = 4
    write_task(resumed, ctx, 1)
    resumed.after_run(ctx=ctx)

    reference_dir = tmp_path / "reference"
    reference_dir.mkdir()
    ref_ctx = fake_ctx(reference_dir)
    reference = CsvLogger(every=2)
    reference.before_run(ctx=ref_ctx)
    write_task(reference, ref_ctx, 0)
    write_task(reference, ref_ctx, 1)
    reference.after_run(ctx=ref_ctx)
    for name in names:
        assert (tmp_path / name).read_bytes() == (reference_dir / name).read_bytes()
    header, *rows = read_rows(tmp_path / "losses.csv")
    assert [(t, k, lr, name) for t, k, _g, lr, name, _v in rows] == [
        ("0", "0", "", "ce"), ("0", "0", "", "t0"), ("0", "2", "", "ce"), ("0", "2", "", "t0"),
        ("0", "3", "", "ce"), ("0", "3", "", "t0"), ("1", "0", "", "ce"), ("1", "0", "", "t1"),
        ("1", "2", "", "ce"), ("1", "2", "", "t1"), ("1", "3", "", "ce"), ("1", "3", "", "t1"),
    ]  # fmt: skip
    assert accuracy_rows(tmp_path / "accuracy.csv") == [
        (0, "task-il", 0, 90.0), (0, "class-il", 0, 50.0),
        (1, "task-il", 0, 90.0), (1, "task-il", 1, 90.0), (1, "class-il", 0, 50.0), (1, "class-il", 1, 50.0),
    ]  # fmt: skip


def test_a_file_shorter_than_at_the_checkpoint_is_refused(tmp_path):
    ctx = fake_ctx(tmp_path)
    logger = CsvLogger()
    logger.before_run(ctx=ctx)
    write_task(logger, ctx, 0)
    state = logger.state_dict()
    logger.after_run(ctx=ctx)
    (tmp_path / "losses.csv").write_text("task\n")
    resumed = CsvLogger()
    resumed.before_run(ctx=ctx)
    with pytest.raises(SsclError, match=r"losses\.csv has 5 bytes, fewer than the \d+ it had at the checkpoint"):
        resumed.load_state_dict(state)


@pytest.mark.parametrize(
    "kill",
    [
        pytest.param(f"{{name: conformance-kill, at: {ITERS + ITERS // 2}}}", id="in-task-2"),
        pytest.param("{name: kill-after-val, task: 1}", id="after-val-before-checkpoint"),
        pytest.param("{name: conformance-kill, at: 2}", id="before-any-checkpoint"),
    ],
)
def test_a_killed_and_resumed_run_writes_each_row_once(digits, killed_and_resumed, kill):
    run_dir, resumed = killed_and_resumed("resumed", kill, "[{name: csv, every: 4}]")
    config, registry = digits("reference", "[{name: csv, every: 4}]")
    reference = Trainer(config, registry).run()
    assert resumed.metrics["accuracy"] == reference.metrics["accuracy"]
    for name in ("losses.csv", "accuracy.csv"):
        assert (run_dir / name).read_bytes() == (reference.run_dir / name).read_bytes(), name
    assert accuracy_rows(run_dir / "accuracy.csv") == expected_accuracy_rows(resumed.metrics)
