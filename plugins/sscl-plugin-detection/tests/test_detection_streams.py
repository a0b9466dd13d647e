"""Building COCO-format streams: quirks, labeled fraction, oracle, per-task validation sets and the cache."""

import json

import pytest
import torch

from sscl_core import SsclError
from sscl_core.api.components import build
from sscl_plugin_detection.datasets import Coco, Shapes


def coco(files, **settings):
    train_json, train_dir = files("train")
    val_json, val_dir = files("val", count=8, seed=1, quirks=False)
    spec = {
        "annotations": str(train_json),
        "images": str(train_dir),
        "val_annotations": str(val_json),
        "val_images": str(val_dir),
        "tasks": 2,
        "image_size": 64,
        "max_image_size": 64,
        **settings,
    }
    return build(Coco, spec, "dataset 'coco'")


def test_stream_maps_gapped_category_ids_to_contiguous_labels(coco_files):
    stream = coco(coco_files).build_stream(0)
    assert stream.num_classes == 5 and stream.class_names == ("background", "cat1", "cat3", "cat7", "cat10")
    assert [task.classes for task in stream.tasks] == [(1, 2), (3, 4)]
    for task in stream.tasks:
        labels = torch.cat([target["labels"] for target in task.oracle_y])
        assert set(labels.tolist()) <= set(task.classes)


def test_quirks_crowd_empty_clipped_dropped_subfolder_grey_rgba(coco_files, capsys):
    stream = coco(coco_files).build_stream(0)
    assert "1 boxes clipped to their image, 2 dropped" in capsys.readouterr().err
    ids = {t: [target["image_id"] for target in task.oracle_y] for t, task in enumerate(stream.tasks)}
    assert 115 not in ids[0] + ids[1], "the image without annotations belongs to no task"
    crowd = next(target for target in stream.tasks[0].oracle_y if target["image_id"] == 100)
    assert crowd["iscrowd"].tolist() == [False, False, True]
    clipped = next(target for target in stream.tasks[0].oracle_y if target["image_id"] == 104)
    assert clipped["boxes"].tolist()[-1] == [50.0, 50.0, 64.0, 64.0]

    def image(image_id):
        t = 0 if image_id in ids[0] else 1
        return stream.tasks[t].train_x[ids[t].index(image_id)]

    for image_id in (101, 102, 103):
        assert image(image_id).shape == (3, 64, 64) and image(image_id).dtype == torch.uint8
    grey = image(101)
    assert torch.equal(grey[0], grey[1]) and torch.equal(grey[1], grey[2])


def test_crowd_boxes_are_ignored_in_training(coco_files):
    from sscl_plugin_detection.network import view_target

    stream = coco(coco_files).build_stream(0)
    target = next(t for t in stream.tasks[0].oracle_y if t["image_id"] == 100)
    (view,) = stream.transforms.test([stream.tasks[0].train_x[0]])
    assert len(view_target(view, target, torch.device("cpu"))["boxes"]) == 2


def test_labeled_fraction_explicit_ids_and_oracle(coco_files):
    stream = coco(coco_files, labeled_fraction=0.5).build_stream(3)
    for task in stream.tasks:
        assert len(task.labeled_index) == round(0.5 * len(task))
    again = coco(coco_files, labeled_fraction=0.5).build_stream(3)
    assert all(torch.equal(a.labeled_index, b.labeled_index) for a, b in zip(stream, again, strict=True))
    chosen = coco(coco_files, labeled_images=[100, 102, 107]).build_stream(0)
    ids = [[chosen[t].oracle_y[i]["image_id"] for i in chosen[t].labeled_index.tolist()] for t in range(2)]
    assert sorted(ids[0] + ids[1]) == [100, 102, 107]
    task = stream.tasks[0]
    unlabeled = [i for i in range(len(task)) if i not in set(task.labeled_index.tolist())]
    targets = task.acquire_labels(torch.tensor(unlabeled[:1]))
    assert targets[0]["image_id"] == task.oracle_y[unlabeled[0]]["image_id"]
    assert unlabeled[0] in task.labeled_index.tolist()


def test_each_task_validates_on_the_images_with_its_categories(coco_files):
    stream = coco(coco_files).build_stream(0)
    for task in stream.tasks:
        assert task.test_y and len(task.test_x) == len(task.test_y)
        for target in task.test_y:
            assert set(target["labels"].tolist()) & set(task.classes)


def test_held_out_share_when_no_validation_pair(coco_files):
    train_json, train_dir = coco_files("train")
    spec = {"annotations": str(train_json), "images": str(train_dir), "tasks": 2, "image_size": 64, "holdout": 0.25}
    stream = build(Coco, spec, "dataset 'coco'").build_stream(0)
    val = {t["image_id"] for task in stream for t in task.test_y}
    train = {t["image_id"] for task in stream for t in task.oracle_y}
    assert val and not val & train


def test_cache_is_built_once_and_resizes_boxes(coco_files, capsys):
    coco(coco_files).build_stream(0)
    assert "decoding 16 images" in capsys.readouterr().err
    coco(coco_files).build_stream(0)
    assert "decoding" not in capsys.readouterr().err
    small = coco(coco_files, image_size=32, max_image_size=32).build_stream(0)
    assert "decoding 16 images" in capsys.readouterr().err
    target = next(t for t in small.tasks[0].oracle_y if t["image_id"] == 100)
    assert target["boxes"][0].tolist() == [2.0, 3.0, 12.0, 11.0]
    assert small.tasks[0].train_x[0].shape == (3, 32, 32)


def test_shapes_writes_real_coco_files_once(tmp_path):
    shapes = build(
        Shapes,
        {
            "train_images": 12,
            "val_count": 6,
            "image_size": 64,
            "max_image_size": 64,
            "categories": 4,
            "tasks": 2,
            "cache_dir": str(tmp_path),
        },
        "dataset 'shapes'",
    )
    train_json, _images, _val = shapes.sources()
    data = json.loads(train_json.read_text())
    assert len(data["images"]) == 12 and [c["id"] for c in data["categories"]] == [1, 3, 5, 7]
    stream = shapes.build_stream(0)
    assert len(stream) == 2 and stream.num_classes == 5
    before = train_json.stat().st_mtime_ns
    shapes.build_stream(0)
    assert train_json.stat().st_mtime_ns == before
    more = build(
        Shapes,
        {
            "train_images": 14,
            "val_count": 6,
            "image_size": 64,
            "max_image_size": 64,
            "categories": 4,
            "tasks": 2,
            "cache_dir": str(tmp_path),
        },
        "dataset 'shapes'",
    )
    assert len(json.loads(more.sources()[0].read_text())["images"]) == 14, "each setting has its own files"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"task_categories": [[1, 3], [99]]}, "category id 99 is not in the instances file"),
        ({"tasks": 9}, "tasks=9 does not fit 4 categories"),
    ],
)
def test_bad_category_settings_are_one_line(coco_files, settings, message):
    with pytest.raises(SsclError, match=message):
        coco(coco_files, **settings).build_stream(0)
