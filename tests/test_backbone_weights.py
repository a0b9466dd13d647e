"""backbone.weights: a trained run's state dict in any of the common layouts loads into a new run's backbone and
gives that run's first-task accuracy; a file that does not fit, or one that would run code, is one line."""

import json
import os
from pathlib import Path

import pytest
import torch

from sscl_core import SsclError, cli
from sscl_core.classification.model import masked_logits
from sscl_core.config.run_config import load_config
from sscl_core.plugins.registry import load_registry
from sscl_core.run.checkpoint import load_checkpoint, read_manifest
from sscl_core.run.resolve import resolve_components

RUN = ["--method", "finetune", "--set", "dataset.num_tasks=1", "--set", "train.iters_per_task=30"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A one-task digits run: its run directory and the model state of its checkpoint."""
    root = tmp_path_factory.mktemp("trained")
    assert cli.main(["run", *RUN, "--set", f"output_dir={root}", "--set", "run_name=a"]) == 0
    run_dir = root / "a"
    return run_dir, load_checkpoint(run_dir, read_manifest(run_dir))["model"]


def first_task_accuracy(weights, prefix=None, head=None):
    """Task-IL accuracy on task 1 of a new digits run whose backbone loads ``weights`` (and whose head is
    ``head``), before any training; and the new model."""
    sets = [f"backbone.weights={weights}", "dataset.num_tasks=1"]
    sets += [f"backbone.weights_prefix={prefix}"] if prefix else []
    config = load_config(None, sets, {"method": "finetune"})
    parts = resolve_components(config, load_registry())
    torch.manual_seed(config.seed)
    stream = parts.dataset.build_stream(config.seed)
    model = parts.model.build(stream, parts.backbone).eval()
    if head is not None:
        model.head.load_state_dict(head)
    task = stream.tasks[0]
    with torch.no_grad():
        logits = model(stream.transforms.test(task.test_x))
    correct = int((masked_logits(logits, task.classes).argmax(1) == task.test_y).sum())
    return 100.0 * correct / len(task.test_y), model


def layouts(model_state):
    """The same backbone as the layouts users bring: (name, file content, weights_prefix)."""
    backbone = {k.removeprefix("backbone."): v for k, v in model_state.items() if k.startswith("backbone.")}
    return [
        ("plain", backbone, None),
        ("whole model, head skipped", model_state, None),
        ("torchvision-style with fc", {**backbone, "fc.weight": torch.zeros(3, 2), "fc.bias": torch.zeros(3)}, None),
        ("DDP nested", {"state_dict": {f"module.{k}": v for k, v in model_state.items()}, "epoch": 9}, None),
        ("self-supervised", {"model": {f"encoder.{k}": v for k, v in backbone.items()}, "head.w": torch.ones(1)}, None),
        ("custom prefix", {"state_dict": {f"net.online.{k}": v for k, v in backbone.items()}}, "net.online."),
    ]


@pytest.mark.parametrize("index", range(6))
def test_a_trained_state_dict_in_any_layout_gives_the_first_task_accuracy_before_training(trained, tmp_path, index):
    run_dir, model_state = trained
    name, content, prefix = layouts(model_state)[index]
    path = tmp_path / "weights.pt"
    torch.save(content, path)
    head = {k.removeprefix("head."): v for k, v in model_state.items() if k.startswith("head.")}
    accuracy, model = first_task_accuracy(path, prefix, head)
    saved = json.loads((run_dir / "metrics.json").read_text())["accuracy"]["task-il"][0][0]
    assert accuracy == saved, name
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(value, model_state[f"backbone.{key}"]), (name, key)


def test_a_run_with_weights_trains_from_them(trained, sscl, tmp_path):
    _run_dir, model_state = trained
    torch.save(model_state, tmp_path / "w.pt")
    code, out, err = sscl("run", *RUN[:4], "--set", "train.iters_per_task=2", "--set", "backbone.weights=w.pt")
    assert code == 0, err
    assert "task 1/1" in out


def test_a_file_of_another_shape_is_one_line_naming_the_first_mismatches(sscl, tmp_path):
    narrow = {f"body.{i}.weight": torch.zeros(1) for i in range(5)}
    torch.save(narrow, tmp_path / "narrow.pt")
    code, _out, err = sscl("run", *RUN, "--set", "backbone.weights=narrow.pt")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "does not fit this backbone" in err and "body.0.0.weight: missing" in err and "more" in err
    with pytest.raises(SsclError, match=r"shape \[1\] in the file, \[32, 1, 3, 3\] here"):
        first_task_accuracy(_save(tmp_path / "shapes.pt", {"body.0.0.weight": torch.zeros(1)}))


def _save(path, content):
    torch.save(content, path)
    return path


class RunsCode:
    """A pickled object whose unpickling would run a shell command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        """Unpickling calls os.system."""
        return os.system, (f"touch {self.marker}",)


def test_a_pickle_that_would_run_code_is_refused(sscl, tmp_path):
    marker = tmp_path / "ran"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "payload": RunsCode(marker)}, tmp_path / "evil.pt")
    code, _out, err = sscl("run", *RUN, "--set", "backbone.weights=evil.pt")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "evil.pt holds objects other than tensors" in err and "could run code" in err
    assert not marker.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "does not exist"), (b"not a torch file", "cannot be read"), ([1, 2], "holds no state dict")],
)
def test_a_missing_or_foreign_file_is_one_line(sscl, tmp_path, content, message):
    if isinstance(content, bytes):
        (tmp_path / "w.pt").write_bytes(content)
    elif content is not None:
        torch.save(content, tmp_path / "w.pt")
    code, _out, err = sscl("run", *RUN, "--set", "backbone.weights=w.pt")
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err, err
