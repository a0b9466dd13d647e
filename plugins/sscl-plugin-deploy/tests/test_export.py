"""sscl export: TorchScript and ONNX files of digits runs give the framework's eval outputs (and so its class-IL
accuracy); the command checks that itself; bad input is one line."""

import importlib.util
import json
import re

import pytest
import torch

from sscl_core import cli
from sscl_core.plugins.registry import load_registry
from sscl_core.run.rundir import read_metrics
from sscl_plugin_deploy.deployable import quiet_torchscript
from sscl_plugin_deploy.restore import restore_run

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two finished digits runs: er (the default model) and pnn (a method that replaces the model and scores
    with its own eval_logits)."""
    root = tmp_path_factory.mktemp("runs")
    for method in ("er", "pnn"):
        argv = ["run", "--method", method, "--set", "train.iters_per_task=10", "--set", f"output_dir={root}"]
        assert cli.main([*argv, "--set", f"run_name={method}"]) == 0
    return root


def class_il_accuracies(outputs_of, run):
    """Class-IL accuracy (%) of each task's test images, with outputs from ``outputs_of(uint8 images)``."""
    return [
        100.0 * int((outputs_of(task.test_x).argmax(1) == task.test_y).sum()) / len(task.test_y)
        for task in run.ctx.stream.tasks[: run.tasks_done]
    ]


def printed_difference(out):
    return float(re.search(r"max abs difference to the framework's eval outputs (\S+),", out).group(1))


@pytest.mark.parametrize("method", ["er", "pnn"])
def test_torchscript_gives_the_eval_outputs_and_the_runs_class_il_accuracy(runs, sscl, tmp_path, method):
    code, out, err = sscl("export", str(runs / method), "--out", str(tmp_path / "m.pt"))
    assert code == 0, err
    assert printed_difference(out) <= TOLERANCE and "same top class for 100.0%" in out
    run = restore_run(runs / method, None, load_registry())
    extra = {"classes.json": ""}
    with quiet_torchscript():
        module = torch.jit.load(str(tmp_path / "m.pt"), _extra_files=extra)
    with torch.no_grad():
        images = torch.cat([task.test_x for task in run.ctx.stream.tasks])
        assert (module(images) - run.framework_outputs(images)).abs().max() <= TOLERANCE
        accuracies = class_il_accuracies(module, run)
    assert accuracies == read_metrics(runs / method)["accuracy"]["class-il"][-1]
    card = json.loads(extra["classes.json"])
    assert card == json.loads((tmp_path / "m.classes.json").read_text())
    assert card["classes"] == [str(d) for d in range(10)] and card["input"]["shape"] == ["N", 1, 8, 8]


def test_onnx_gives_the_eval_outputs_within_1e_5(runs, sscl, tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    code, out, err = sscl("export", str(runs / "er"), "--format", "onnx", "--out", str(tmp_path / "m.onnx"))
    assert code == 0, err
    assert printed_difference(out) <= TOLERANCE
    run = restore_run(runs / "er", None, load_registry())
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])

    def outputs_of(images):
        return torch.from_numpy(session.run(None, {"images": images.numpy()})[0])

    images = torch.cat([task.test_x for task in run.ctx.stream.tasks])
    assert (outputs_of(images) - run.framework_outputs(images)).abs().max() <= TOLERANCE
    assert class_il_accuracies(outputs_of, run) == read_metrics(runs / "er")["accuracy"]["class-il"][-1]


def test_the_default_file_goes_into_the_run_directory(runs, sscl):
    code, out, err = sscl("export", str(runs / "er"), "--check-images", "7")
    assert code == 0, err
    assert (runs / "er" / "export" / "model-after-task-5.pt").is_file()
    assert (runs / "er" / "export" / "model-after-task-5.classes.json").is_file()
    assert "checked on 7 test images" in out


def test_task_n_exports_a_kept_earlier_checkpoint(sscl, tmp_path):
    argv = ["run", "--method", "er", "--set", "train.iters_per_task=5", "--set", "dataset.num_tasks=2"]
    assert sscl(*argv, "--set", "keep_checkpoints=true", "--set", "run_name=kept")[0] == 0
    run_dir = tmp_path / "runs" / "kept"
    assert sorted(p.name for p in (run_dir / "checkpoints").glob("*.pt")) == ["after-task-1.pt", "after-task-2.pt"]
    code, out, err = sscl("export", str(run_dir), "--task", "1")
    assert code == 0, err
    assert "after task 1" in out and printed_difference(out) <= TOLERANCE
    run = restore_run(run_dir, 1, load_registry())
    with quiet_torchscript():
        module = torch.jit.load(str(run_dir / "export" / "model-after-task-1.pt"))
    with torch.no_grad():
        assert class_il_accuracies(module, run) == read_metrics(run_dir)["accuracy"]["class-il"][0][:1]


def test_a_run_from_pretrained_weights_exports_without_the_weights_file(runs, sscl, tmp_path):
    source = restore_run(runs / "er", None, load_registry()).ctx.model.state_dict()
    torch.save(source, tmp_path / "w.pt")
    argv = ["run", "--method", "er", "--set", "train.iters_per_task=3", "--set", "dataset.num_tasks=1"]
    assert sscl(*argv, "--set", "backbone.weights=w.pt", "--set", "run_name=pre")[0] == 0
    (tmp_path / "w.pt").unlink()
    code, out, err = sscl("export", str(tmp_path / "runs" / "pre"))
    assert code == 0, err
    assert printed_difference(out) <= TOLERANCE


def one_line_error(result, *needles):
    code, _out, err = result
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err


def test_bad_input_is_one_line(runs, sscl, tmp_path, monkeypatch):
    one_line_error(sscl("export", str(tmp_path / "nowhere")), "no such run directory")
    one_line_error(sscl("export", str(tmp_path)), "not an sscl run directory")
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "config.yaml").write_text((runs / "er" / "config.yaml").read_text())
    one_line_error(sscl("export", str(fresh)), "has no checkpoint", "sscl run --resume")
    one_line_error(sscl("export", str(runs / "er"), "--task", "6"), "--task 6", "1..5")
    one_line_error(sscl("export", str(runs / "er"), "--task", "2"), "no checkpoint after task 2", "keep_checkpoints")
    one_line_error(sscl("export", str(runs / "er"), "--format", "tflite"), "invalid choice")
    one_line_error(sscl("export", str(runs / "er"), "--check-images", "0"), "--check-images")
    one_line_error(sscl("export", str(runs / "er"), "--out", str(tmp_path / "x.json")), "class names go")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnx" else real(name, *a))
    one_line_error(sscl("export", str(runs / "er"), "--format", "onnx"), "pip install 'sscl-plugin-deploy[onnx]'")
