"""image-folder: class folders of PNG and JPEG files (grey and RGB) written by the tests, an unlabeled folder with a
task subfolder, held-out and separate test images, the on-disk cache, broken files and end-to-end runs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy
import pytest
import torch
from PIL import Image

from sscl_core import SsclError, cli
from sscl_core.run.sampling import BatchBuilder
from sscl_plugin_datasets import image_decode
from sscl_plugin_datasets.image_folder import ImageFolder
from sscl_plugin_datasets.split import NO_CLASS

pytestmark = pytest.mark.filterwarnings("ignore:The image decoding and encoding capabilities:DeprecationWarning")


SMALL_RUN = [
    "dataset=image-folder",
    "dataset.image_size=12",
    "dataset.labels_per_class=2",
    "device=cpu",
    "train.iters_per_task=4",
    "train.batch_size=4",
    "train.uratio=2",
    "train.eval_batch_size=16",
]
"""--set values of a short run on the test folder (without its folders)."""


def dataset(folder, **settings) -> ImageFolder:
    fields = {"root": str(folder.root), "cache_dir": str(folder.cache), "image_size": 12, "labels_per_class": 2}
    return ImageFolder(**{**fields, **settings})


def index_of(folder) -> dict:
    (index,) = folder.cache.glob("image-folder/*/index.json")
    return json.loads(index.read_text())


def test_classes_sorted_images_fitted_and_a_share_held_out(image_folder):
    data = dataset(image_folder).load_data()
    assert data.class_names == image_folder.classes
    assert data.train_x.shape[1:] == (3, 12, 12) and data.train_x.dtype == torch.uint8
    assert torch.bincount(data.test_y).tolist() == [2] * 4
    assert torch.bincount(data.train_y[data.train_y >= 0]).tolist() == [6] * 4
    levels = data.test_x[:].float().mean(dim=(1, 2, 3))
    assert torch.allclose(levels, 40.0 + 50 * data.test_y.float(), atol=4), "each class has its grey level"
    grey = data.train_x[data.train_y == 0]
    assert torch.equal(grey[:, 0], grey[:, 1]) and torch.equal(grey[:, 1], grey[:, 2]), "grey PNGs become RGB"


def test_training_images_are_ordered_by_name_then_class(image_folder):
    data = dataset(image_folder, test_root=str(image_folder.root)).load_data()
    classed = data.train_y[data.train_y >= 0]
    expected = [3, 2, 0, 1] * 8, "0.jpeg (dog), 0.jpg (cat), 0.png (ant, then bee), then 1.jpeg, ..."
    assert classed.tolist() == expected[0], expected[1]


def test_grey_channel_and_explicit_class_order(image_folder):
    data = dataset(image_folder, channels=1, classes=["dog", "ant"]).load_data()
    assert data.class_names == ("dog", "ant") and data.train_x.shape[1:] == (1, 12, 12)
    assert data.test_x[data.test_y == 0].float().mean() > data.test_x[data.test_y == 1].float().mean() + 100


def test_unknown_class_name_is_one_line(image_folder, one_line_error):
    one_line_error(dataset(image_folder, classes=["ant", "bea"]), "bea: no such class folder", "did you mean 'bee'")


def test_images_of_different_sizes_need_image_size(image_folder, one_line_error):
    one_line_error(dataset(image_folder, image_size=None), "is 16x12 pixels", "set dataset.image_size")


def test_unlabeled_images_join_the_pools_and_are_never_labeled(image_folder):
    stream = dataset(image_folder, unlabeled_root=str(image_folder.unlabeled)).build_stream(0)
    assert [task.classes for task in stream] == [(0, 1), (2, 3)]
    assert [int((task.oracle_y == NO_CLASS).sum()) for task in stream] == [3, 5]
    for task in stream:
        assert len(task) == 12 + int((task.oracle_y == NO_CLASS).sum())
        assert (task.labeled_y >= 0).all() and len(task.labeled_index) == 4
        builder = BatchBuilder(task, stream.transforms, 4, 3, torch.device("cpu"), torch.Generator().manual_seed(0))
        drawn = set()
        for _ in range(30):
            batch = builder.next(("weak",))
            assert (batch.y >= 0).all() and set(batch.index.tolist()) <= set(task.labeled_index.tolist())
            drawn |= set(batch.u_index.tolist())
        assert drawn == set(range(len(task))), "the unlabeled batches draw the extra images too"
    extra = int((stream[1].oracle_y == NO_CLASS).nonzero()[0])
    with pytest.raises(SsclError, match="without a class"):
        stream[1].acquire_labels(torch.tensor([0, extra]))
    assert len(stream[1].labeled_index) == 4


def test_unlabeled_subfolder_must_name_a_task(image_folder, formats, one_line_error):
    formats.write_image(image_folder.unlabeled / "later" / "x.png", formats.folder_image(9, 3, 12, 12, 1))
    one_line_error(dataset(image_folder, unlabeled_root=str(image_folder.unlabeled)), "later", "task number")


def test_unlabeled_images_for_a_missing_task_are_one_line(image_folder, formats, one_line_error):
    formats.write_image(image_folder.unlabeled / "7" / "x.png", formats.folder_image(9, 3, 12, 12, 1))
    one_line_error(dataset(image_folder, unlabeled_root=str(image_folder.unlabeled)), "meant for task 7", "has 2 tasks")


def test_separate_test_root(image_folder, tmp_path, formats):
    for label, name in enumerate(image_folder.classes):
        formats.write_image(tmp_path / "test" / name / "t.png", formats.folder_image(40 + 50 * label, 3, 12, 12, 7))
    data = dataset(image_folder, test_root=str(tmp_path / "test")).load_data()
    assert data.test_y.tolist() == [0, 1, 2, 3] and len(data.train_y) == 32


def test_class_with_fewer_images_than_labels_is_one_line(image_folder, one_line_error):
    one_line_error(
        dataset(image_folder, labels_per_class=7), "class 0 (ant) has 6 training images", "labels_per_class=7"
    )


def test_cache_is_reused_and_rebuilt_when_a_file_changes(image_folder, formats, monkeypatch, capsys):
    first = dataset(image_folder).load_data()
    assert "decoding 32 images" in capsys.readouterr().err
    token = index_of(image_folder)["token"]

    def no_decoding(*_args):
        raise AssertionError("the cache was not reused")

    with monkeypatch.context() as patched:
        patched.setattr(image_decode, "read_image", no_decoding)
        patched.setattr("sscl_plugin_datasets.image_folder.read_image", no_decoding)
        again = dataset(image_folder).load_data()
    assert index_of(image_folder)["token"] == token and capsys.readouterr().err == ""
    assert torch.equal(first.train_x[:], again.train_x[:]) and torch.equal(first.test_y, again.test_y)
    changed = image_folder.root / "bee" / "3.png"
    formats.write_image(changed, torch.full((3, 12, 12), 255, dtype=torch.uint8))
    os.utime(changed, ns=(1, 1))
    rebuilt = dataset(image_folder).load_data()
    assert index_of(image_folder)["token"] != token and "decoding 32 images" in capsys.readouterr().err
    white = [(images[:] == 255).all(dim=(1, 2, 3)).sum() for images in (rebuilt.train_x, rebuilt.test_x)]
    assert sum(white) == 1
    assert len(list(image_folder.cache.glob("image-folder/*/images-*.u8"))) == 1, "the old rows are deleted"


def test_cache_without_its_rows_or_with_a_damaged_index_is_rebuilt(image_folder, capsys):
    dataset(image_folder).load_data()
    capsys.readouterr()
    (rows,) = image_folder.cache.glob("image-folder/*/images-*.u8")
    rows.unlink()
    assert dataset(image_folder).load_data().train_x.shape[0] == 24
    assert "decoding 32 images" in capsys.readouterr().err
    (index,) = image_folder.cache.glob("image-folder/*/index.json")
    index.write_text("{not json")
    dataset(image_folder).load_data()
    assert "decoding 32 images" in capsys.readouterr().err


def test_tasks_read_the_decoded_rows_from_the_cache_file_without_mapping_it(image_folder, monkeypatch):
    settings = {"unlabeled_root": str(image_folder.unlabeled)}
    folder = dataset(image_folder, **settings)
    stream = folder.build_stream(0)
    (rows,) = image_folder.cache.glob("image-folder/*/images-*.u8")
    decoded = torch.stack([folder._decode(entry.path) for entry in folder._layout().entries])
    assert torch.equal(torch.from_numpy(numpy.fromfile(rows, dtype=numpy.uint8)).view(decoded.shape), decoded)
    maps = Path("/proc/self/maps")
    assert not maps.exists() or str(rows) not in maps.read_text(), "the cache file is read, never mapped"

    def in_memory_take(self, part, images, index):
        return (decoded[: len(images)] if part == "train" else decoded[len(decoded) - len(images) :])[index]

    monkeypatch.setattr(ImageFolder, "take", in_memory_take)
    in_memory = dataset(image_folder, **settings).build_stream(0)
    for task, indexed in zip(stream, in_memory, strict=True):
        assert torch.equal(task.train_x[:], indexed.train_x) and torch.equal(task.test_x[:], indexed.test_x)
        assert torch.equal(task.labeled_x, indexed.labeled_x) and torch.equal(task.oracle_y, indexed.oracle_y)
        builders = [
            BatchBuilder(t, stream.transforms, 4, 3, torch.device("cpu"), torch.Generator().manual_seed(1))
            for t in (task, indexed)
        ]
        for _ in range(10):
            read, kept = (builder.next(("weak", "strong")) for builder in builders)
            for view in ("x_raw", "x", "u_raw", "u_weak", "u_strong"):
                assert torch.equal(getattr(read, view), getattr(kept, view)), view


def test_default_cache_is_beside_the_runs_and_shared_by_runs_of_one_output_folder(
    image_folder, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SSCL_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    settings = [*SMALL_RUN, f"dataset.root={image_folder.root}", "output_dir=out"]
    arguments = ["run", "--method", "er", *(a for setting in settings for a in ("--set", setting))]
    for decodes in (True, False):
        assert cli.main(arguments) == 0, capsys.readouterr().err
        assert ("decoding 32 images" in capsys.readouterr().err) == decodes
    (index,) = tmp_path.glob("out/.cache/image-folder/*/index.json")
    assert len(list(tmp_path.glob("out/*/metrics.json"))) == 2 and not (tmp_path / "user-cache").exists()
    assert all(".cache" not in config.read_text() for config in tmp_path.glob("out/*/config.yaml"))
    monkeypatch.setenv("SSCL_CACHE_DIR", str(tmp_path / "shared"))
    assert cli.main(arguments) == 0, capsys.readouterr().err
    assert "decoding 32 images" in capsys.readouterr().err and list(tmp_path.glob("shared/image-folder/*/index.json"))


def test_corrupt_image_is_one_line_or_skipped_with_a_count(image_folder, one_line_error, capsys):
    broken = image_folder.root / "cat" / "5.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    one_line_error(dataset(image_folder), str(broken), "not a readable image", "skip_broken=true")
    stream = dataset(image_folder, skip_broken=True).build_stream(0)
    assert "skipped 1 unreadable image of 32" in capsys.readouterr().err
    assert sum(len(task) for task in stream) + sum(len(task.test_y) for task in stream) == 31
    one_line_error(dataset(image_folder), str(broken), "not a readable image")


@pytest.mark.parametrize("method", ["er", "edgehml"])
def test_methods_run_end_to_end(image_folder, tmp_path, monkeypatch, capsys, method):
    monkeypatch.chdir(tmp_path)
    settings = [
        *SMALL_RUN,
        f"dataset.root={image_folder.root}",
        f"dataset.unlabeled_root={image_folder.unlabeled}",
        f"dataset.cache_dir={image_folder.cache}",
    ]
    arguments = [a for setting in settings for a in ("--set", setting)]
    assert cli.main(["run", "--method", method, *arguments]) == 0, capsys.readouterr().err
    (metrics,) = tmp_path.glob("runs/*/metrics.json")
    assert len(json.loads(metrics.read_text())["accuracy"]["task-il"]) == 2


def test_bad_root_is_one_cli_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = cli.main(["run", "--dataset", "image-folder", "--set", f"dataset.root={tmp_path / 'none'}"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1 and "none" in err


def test_bmp_and_webp_decode_to_their_pixels(tmp_path):
    pixels = torch.randint(0, 256, (3, 6, 5), generator=torch.Generator().manual_seed(3)).to(torch.uint8)
    picture = Image.fromarray(pixels.permute(1, 2, 0).numpy())
    picture.save(tmp_path / "a.bmp")
    picture.save(tmp_path / "a.webp", lossless=True)
    for name in ("a.bmp", "a.webp"):
        assert torch.equal(image_decode.read_image(tmp_path / name, 3), pixels), name
    grey = image_decode.read_image(tmp_path / "a.bmp", 1)
    assert grey.shape == (1, 6, 5) and grey.dtype == torch.uint8


def test_fit_covers_the_size_then_crops_the_centre():
    wide = torch.arange(16, dtype=torch.uint8).repeat(1, 12, 1)
    assert torch.equal(image_decode.fit(wide, (12, 12)), wide[:, :, 2:14])
    small = torch.full((3, 4, 8), 77, dtype=torch.uint8)
    grown = image_decode.fit(small, (6, 6))
    assert grown.shape == (3, 6, 6) and (grown == 77).all()
    assert image_decode.fit(small, (4, 8)) is small


def test_normalization_is_the_training_images_own_unless_given(image_folder, one_line_error):
    own = dataset(image_folder)
    data = own.load_data()
    mean, std = own.normalization()
    unit = data.train_x[:].double() / 255
    assert torch.allclose(torch.tensor(mean, dtype=torch.float64), unit.mean(dim=(0, 2, 3)), atol=1e-9)
    assert torch.allclose(torch.tensor(std, dtype=torch.float64), unit.std(dim=(0, 2, 3), correction=0), atol=1e-9)
    given = dataset(image_folder, image_mean=[0.5, 0.5, 0.5], image_std=[0.25, 0.25, 0.25])
    assert given.build_stream(0).transforms.mean == (0.5, 0.5, 0.5)
    one_line_error(dataset(image_folder, image_mean=[0.5]), "image_mean has 1 values, but channels=3")
