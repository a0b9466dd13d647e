"""Detection runs through the CLI and the trainer: end to end on shapes, bad input in one line, no download,
and a killed run resumed bit for bit."""

import json

import pytest
import torch
import torchvision

from sscl_core.config.run_config import load_config
from sscl_core.plugins.registry import load_registry
from sscl_core.run.checkpoint import checkpoint_file
from sscl_core.run.trainer import Trainer
from sscl_core.testing.synthetic import KillAt, SimulatedKill

SHAPES = [
    "dataset.train_images=24",
    "dataset.val_count=8",
    "dataset.image_size=64",
    "dataset.max_image_size=64",
    "dataset.categories=4",
    "dataset.tasks=2",
    "dataset.labeled_fraction=0.25",
    "train.iters_per_task=3",
    "method.replay_batch_size=1",
    "unlabeled.score_threshold=0.05",
    "unlabeled.cls_threshold=0.1",
]
"""A tiny shapes run; the low SoftTeacher thresholds let the untrained teacher's boxes through."""


def cli_args(coco_files, method, output_dir, extra=()):
    args = ["run", "--dataset", "shapes", "--method", method]
    for setting in [*coco_files.settings, *SHAPES, f"output_dir={output_dir}", "run_name=run", *extra]:
        args += ["--set", setting]
    return args


def test_er_soft_teacher_on_shapes_trains_and_prints_the_map_matrices(coco_files, sscl, tmp_path):
    code, out, err = sscl(*cli_args(coco_files, "er+soft-teacher", tmp_path / "runs"))
    assert code == 0, err
    assert "map detection" in out and "map50 detection" in out and "after \\ on" in out
    metrics = json.loads((tmp_path / "runs" / "run" / "metrics.json").read_text())
    assert metrics["problem"] == "detection" and metrics["method"] == "er+soft-teacher"
    assert [len(row) for row in metrics["detection"]["map"]] == [2, 2]
    assert metrics["model"]["parameters"] > 0 and metrics["model"]["macs"] > 0
    events = [json.loads(line) for line in (tmp_path / "runs" / "run" / "events.jsonl").read_text().splitlines()]
    losses = [e["losses"] for e in events if e["event"] == "iter"]
    assert all({"ce", "soft_teacher_cls", "soft_teacher_reg", "soft_teacher_rpn"} <= set(step) for step in losses[1:])
    assert [e["accuracies"]["map_all_seen"] for e in events if e["event"] == "val"]


def test_no_detector_downloads_anything(monkeypatch, tmp_path):
    def refuse(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torchvision.models._api.WeightsEnum, "get_state_dict", refuse)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    registry = load_registry()
    stream = type("Stream", (), {"num_classes": 3})()
    for name in ("fasterrcnn-mobilenet", "fasterrcnn-tiny", "fasterrcnn-r50", "retinanet-r50", "fcos-r50", "ssdlite"):
        network = registry.create("model", {"name": name}).build(stream, None).eval()
        with torch.no_grad():
            (found,) = network(torch.rand(1, 3, 64, 64))
        assert set(found) == {"boxes", "labels", "scores"}
    assert not (tmp_path / "hub").exists()


def test_a_local_weights_file_loads_with_weights_only(coco_files, sscl, tmp_path):
    registry = load_registry()
    stream = type("Stream", (), {"num_classes": 3})()
    network = registry.create("model", {"name": "ssdlite"}).build(stream, None)
    torch.save(network.detector.state_dict(), tmp_path / "ssd.pt")
    again = registry.create("model", {"name": "ssdlite", "weights": str(tmp_path / "ssd.pt")}).build(stream, None)
    assert all(
        torch.equal(a, b) for a, b in zip(network.state_dict().values(), again.state_dict().values(), strict=True)
    )


def malformed(kind, folder):
    path, images = folder
    data = json.loads(path.read_text())
    if kind == "missing-json":
        path.unlink()
        return str(path), "does not exist"
    if kind == "not-json":
        path.write_text("{images: oops")
        return str(path), "is not valid JSON"
    if kind == "no-images":
        del data["images"]
        path.write_text(json.dumps(data))
        return str(path), "has no list 'images'"
    if kind == "unknown-image":
        data["annotations"][0]["image_id"] = 999
        path.write_text(json.dumps(data))
        return str(path), "names image id 999"
    if kind == "bad-bbox":
        data["annotations"][0]["bbox"] = [1, 2, "x"]
        path.write_text(json.dumps(data))
        return str(path), "annotations[0] has no 'bbox'"
    if kind == "missing-image":
        (images / "000.png").unlink()
        return str(images / "000.png"), "does not exist"
    if kind == "broken-image":
        (images / "000.png").write_bytes(b"not a png")
        return str(images / "000.png"), "is not a readable image"
    raise ValueError(kind)


@pytest.mark.parametrize(
    "kind", ["missing-json", "not-json", "no-images", "unknown-image", "bad-bbox", "missing-image", "broken-image"]
)
def test_malformed_input_is_one_line_exit_2(coco_files, sscl, tmp_path, kind):
    folder = coco_files("bad", count=6)
    named, problem = malformed(kind, folder)
    args = [
        "run",
        "--dataset",
        "coco",
        "--method",
        "finetune",
        "--set",
        f"dataset.annotations={folder[0]}",
        "--set",
        f"dataset.images={folder[1]}",
        "--set",
        "dataset.tasks=2",
        "--set",
        "device=cpu",
        "--set",
        f"output_dir={tmp_path / 'runs'}",
    ]
    code, _out, err = sscl(*args)
    lines = [line for line in err.strip().splitlines() if "decoding" not in line and "clipped" not in line]
    assert code == 2 and len(lines) == 1, err
    assert named in lines[0] and problem in lines[0]


def test_unknown_task_category_is_one_line_exit_2(coco_files, sscl, tmp_path):
    path, images = coco_files("cats", count=6)
    code, _out, err = sscl(
        "run",
        "--dataset",
        "coco",
        "--method",
        "finetune",
        "--set",
        f"dataset.annotations={path}",
        "--set",
        f"dataset.images={images}",
        "--set",
        "dataset.task_categories=[[1, 3], [42]]",
        "--set",
        "device=cpu",
        "--set",
        f"output_dir={tmp_path / 'runs'}",
    )
    assert code == 2 and "category id 42 is not in the instances file" in err.strip().splitlines()[-1]


def test_killed_detection_run_resumes_bit_for_bit(coco_files, tmp_path):
    registry = load_registry()
    registry.add("callback", KillAt, "sscl-core.testing")
    base = ["dataset=shapes", "method=er+soft-teacher", *coco_files.settings, *SHAPES, "run_name=run"]

    def config(folder, kill):
        return load_config(
            overrides=[*base, f"output_dir={folder}", f"callbacks=[{{name: conformance-kill, at: {kill}}}]"]
        )

    killed = config(tmp_path / "killed", 4)
    with pytest.raises(SimulatedKill):
        Trainer(killed, registry).run()
    run_dir = tmp_path / "killed" / "run"
    resumed = Trainer.resume(run_dir, killed, registry).run()
    reference = Trainer(config(tmp_path / "reference", -1), registry).run()
    assert resumed.metrics["detection"] == reference.metrics["detection"]
    ours = torch.load(checkpoint_file(run_dir, 2), weights_only=True)
    theirs = torch.load(checkpoint_file(reference.run_dir, 2), weights_only=True)
    for part in ("model",):
        assert all(torch.equal(ours[part][k], theirs[part][k]) for k in ours[part])
    (teacher_key,) = [k for k in ours["components"] if k.startswith("unlabeled_loss")]
    ours_t, theirs_t = ours["components"][teacher_key]["teacher"], theirs["components"][teacher_key]["teacher"]
    assert all(torch.equal(ours_t[k], theirs_t[k]) for k in ours_t)
