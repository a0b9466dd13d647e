"""The ``tensorboard`` callback: event files read back with TensorBoard's EventAccumulator hold the run's
losses and its accuracy matrices; a resumed run hides what the stopped one logged after its checkpoint; without
the tensorboard package a run fails in one line."""

from __future__ import annotations

import statistics
import struct
import sys

import pytest

from sscl_core import cli
from sscl_core.classification.accuracy import PROTOCOLS
from sscl_core.run.trainer import Trainer
from sscl_plugin_loggers.schedule import iteration_due
from sscl_plugin_loggers.tensorboard_logger import MISSING_PACKAGE

ITERS, TASKS = 6, 3  # as in conftest.py


def float32(value):
    """``value`` as TensorBoard stores a scalar (a 32-bit float)."""
    return struct.unpack("f", struct.pack("f", value))[0]


def scalars(run_dir):
    """{tag: [(step, value), ...]} of the run's TensorBoard folder."""
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    events = accumulator.EventAccumulator(str(run_dir / "tensorboard"), size_guidance={accumulator.SCALARS: 0})
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def expected_accuracy_scalars(metrics):
    expected = {}
    for protocol in PROTOCOLS:
        matrix = metrics["accuracy"][protocol]
        expected[f"accuracy/{protocol}/average"] = [
            (i, float32(statistics.fmean(row[: i + 1]))) for i, row in enumerate(matrix)
        ]
        for j in range(len(matrix)):
            expected[f"accuracy/{protocol}/task{j}"] = [(i, float32(matrix[i][j])) for i in range(j, len(matrix))]
    return expected


def test_scalars_are_the_losses_and_accuracies_of_the_run(digits, loss_probe):
    pytest.importorskip("tensorboard")
    probe, records = loss_probe
    config, registry = digits("run", "[{name: tensorboard, every: 4}, loss-probe]", extra=(probe,))
    result = Trainer(config, registry).run()
    found = scalars(result.run_dir)
    accuracy = {tag: points for tag, points in found.items() if tag.startswith("accuracy/")}
    assert accuracy == expected_accuracy_scalars(result.metrics)
    logged = [r for r in records if iteration_due(r[1], ITERS, 4)]
    assert found["loss/ce"] == [(g, float32(losses["ce"])) for _t, _k, g, _lr, losses in logged]
    assert found["loss/der_mse"] == [
        (g, float32(losses["der_mse"])) for _t, _k, g, _lr, losses in logged if "der_mse" in losses
    ]
    assert found["lr"] == [(g, float32(lr)) for _t, _k, g, lr, _losses in logged]
    assert [step for step, _ in found["loss/ce"]] == [t * ITERS + k for t in range(TASKS) for k in (0, 4, 5)]


@pytest.mark.parametrize(
    "kill",
    [
        pytest.param(f"{{name: conformance-kill, at: {ITERS + ITERS // 2}}}", id="in-task-2"),
        pytest.param("{name: conformance-kill, at: 2}", id="before-any-checkpoint"),
    ],
)
def test_a_resumed_run_hides_what_the_stopped_run_logged_after_its_checkpoint(digits, killed_and_resumed, kill):
    pytest.importorskip("tensorboard")
    run_dir, resumed = killed_and_resumed("resumed", kill, "[{name: tensorboard, every: 1}]")
    config, registry = digits("reference", "[{name: tensorboard, every: 1}]")
    reference = Trainer(config, registry).run()
    assert resumed.metrics["accuracy"] == reference.metrics["accuracy"]
    found, expected = scalars(run_dir), scalars(reference.run_dir)
    assert [step for step, _ in found["loss/ce"]] == list(range(TASKS * ITERS))
    assert found == expected
    assert {t: p for t, p in found.items() if t.startswith("accuracy/")} == expected_accuracy_scalars(resumed.metrics)


def test_without_the_tensorboard_package_a_run_fails_in_one_line(tmp_path, monkeypatch, capsys):
    for module in [m for m in sys.modules if m.startswith("torch.utils.tensorboard")]:
        monkeypatch.delitem(sys.modules, module)  # imported again by the callback...
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # ...where "import tensorboard" raises ImportError
    monkeypatch.chdir(tmp_path)
    code = cli.main(["run", "--method", "finetune", "--set", "device=cpu", "--set", "callbacks=[tensorboard]"])
    _out, err = capsys.readouterr()
    assert code == 2
    assert err.splitlines() == [f"sscl: error: {MISSING_PACKAGE}"]
