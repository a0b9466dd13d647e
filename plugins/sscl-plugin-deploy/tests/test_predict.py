"""sscl predict: test images written as PNG files get the class the run's evaluation assigns them."""

import pytest
import torch
from PIL import Image

from sscl_core import cli
from sscl_core.plugins.registry import load_registry
from sscl_plugin_deploy.restore import restore_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A finished digits er run."""
    root = tmp_path_factory.mktemp("runs")
    argv = ["run", "--method", "er", "--set", "train.iters_per_task=10", "--set", f"output_dir={root}"]
    assert cli.main([*argv, "--set", "run_name=er"]) == 0
    return root / "er"


def test_predict_prints_the_class_the_evaluation_assigns(run_dir, sscl, tmp_path):
    run = restore_run(run_dir, None, load_registry())
    folder = tmp_path / "images"
    folder.mkdir()
    expected = {}
    for task in run.ctx.stream.tasks:
        for row in range(3):
            image = task.test_x[row]
            path = folder / f"t{task.id}-{row}.png"
            Image.fromarray(image[0].numpy(), mode="L").save(path)
            with torch.no_grad():
                top = int(run.framework_outputs(image[None]).argmax(1))
            expected[str(path)] = run.class_names[top]
    code, out, err = sscl("predict", str(run_dir), str(folder), "--top-k", "2")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == len(expected)
    for line in lines:
        path, _, rest = line.partition(": ")
        first, second = rest.split(", ")
        assert first.split(" ")[0] == expected[path], line
        assert float(first.split("(")[1].rstrip("%)")) >= float(second.split("(")[1].rstrip("%)"))


def test_an_rgb_photo_of_another_size_is_fitted_to_the_run_input(run_dir, sscl, tmp_path):
    Image.new("RGB", (40, 25), (200, 10, 10)).save(tmp_path / "photo.jpg")
    code, out, err = sscl("predict", str(run_dir), str(tmp_path / "photo.jpg"), "--top-k", "10")
    assert code == 0, err
    probabilities = [float(part.split("(")[1].rstrip("%)")) for part in out.strip().split(": ", 1)[1].split(", ")]
    assert len(probabilities) == 10 and abs(sum(probabilities) - 100) < 0.1


def test_bad_input_is_one_line(run_dir, sscl, tmp_path):
    (tmp_path / "broken.png").write_bytes(b"not a png")
    (tmp_path / "empty").mkdir()
    for argv, needle in [
        ((str(tmp_path / "nowhere"), "x.png"), "no such image file or folder"),
        ((str(tmp_path / "nowhere"), str(tmp_path / "broken.png")), "no such run directory"),
        ((str(run_dir), str(tmp_path / "broken.png")), "broken.png is not a readable image"),
        ((str(run_dir), str(tmp_path / "empty")), "holds no image"),
        ((str(run_dir), str(tmp_path / "broken.png"), "--top-k", "0"), "--top-k must be at least 1"),
        ((str(run_dir), str(tmp_path / "broken.png"), "--task", "9"), "--task 9"),
    ]:
        code, _out, err = sscl("predict", *argv)
        assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert needle in err, err
