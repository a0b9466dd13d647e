"""The detection network's generic forward/loss pair, and memory pools holding images of different sizes with
their box lists."""

from types import SimpleNamespace

import torch

from sscl_core.api.components import build
from sscl_plugin_cl.reservoir import ReservoirPool
from sscl_plugin_detection import geometry
from sscl_plugin_detection.models import FasterRCNNMobileNet
from sscl_plugin_detection.views import View

SMALL = {"rpn_pre_nms_train": 50, "rpn_post_nms_train": 20, "rpn_batch": 16, "box_batch": 16}


def target(x):
    return {
        "boxes": torch.tensor([[x, 4.0, x + 20.0, 30.0]]),
        "labels": torch.tensor([1]),
        "iscrowd": torch.tensor([False]),
    }


def test_training_forward_returns_the_views_and_loss_runs_the_detector():
    torch.manual_seed(0)
    network = build(FasterRCNNMobileNet, SMALL, "model").build(SimpleNamespace(num_classes=3), None).train()
    views = [View(torch.rand(3, 48, 64), geometry.identity()), View(torch.rand(3, 64, 48), geometry.hflip(48))]
    assert network(views) is not None and network(views)[0] is views[0]
    torch.manual_seed(1)
    mean = network.loss(views, [target(2.0), target(10.0)])
    torch.manual_seed(1)
    per_image = network.loss(views, [target(2.0), target(10.0)], reduction="none")
    assert mean.ndim == 0 and mean.requires_grad and per_image.shape == (2,)
    network.eval()
    with torch.no_grad():
        found = network(views)
    assert len(found) == 2 and set(found[0]) == {"boxes", "labels", "scores"}


def test_a_reservoir_pool_keeps_images_of_any_size_with_their_box_lists():
    pool = build(ReservoirPool, {"size": 3}, "pool")
    gen = torch.Generator().manual_seed(0)
    for start in range(0, 6, 2):
        images = [torch.zeros(3, 10 + start, 12, dtype=torch.uint8), torch.ones(3, 8, 9 + start, dtype=torch.uint8)]
        pool.add(
            {
                "x": images,
                "y": [target(1.0 * start), target(2.0)],
                "task_id": torch.tensor([0, 0]),
                "index": torch.tensor([start, start + 1]),
            },
            gen,
        )
    assert len(pool) == 3 and isinstance(pool.storage["x"], list)
    drawn = pool.sample(2, gen)
    assert len(drawn["x"]) == 2 and all(set(y) == {"boxes", "labels", "iscrowd"} for y in drawn["y"])
    again = build(ReservoirPool, {"size": 3}, "pool")
    again.load_state_dict(pool.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(again.storage["x"], pool.storage["x"], strict=True))
