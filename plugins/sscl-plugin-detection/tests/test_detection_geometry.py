"""Box geometry of the views: boxes moved from the weak view to the strong view through the recorded matrices
equal the strong view's own transform of the ground truth; a flip and a rotation by hand; views and pixels agree."""

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sscl_plugin_detection import geometry, pseudo_boxes
from sscl_plugin_detection.views import DetectionViews, View, warp

coordinate = st.floats(0.0, 100.0, allow_nan=False)


@st.composite
def boxes(draw):
    rows = []
    for _ in range(draw(st.integers(1, 5))):
        x1, y1 = draw(coordinate), draw(coordinate)
        rows.append([x1, y1, x1 + draw(st.floats(1.0, 50.0)), y1 + draw(st.floats(1.0, 50.0))])
    return torch.tensor(rows, dtype=torch.float64)


@st.composite
def weak_matrices(draw):
    """Random resize and flip, as the weak view draws them."""
    sx, sy = draw(st.floats(0.5, 2.0)), draw(st.floats(0.5, 2.0))
    matrix = geometry.scaling(sx, sy)
    if draw(st.booleans()):
        matrix = geometry.hflip(150.0 * sx) @ matrix
    return matrix


@st.composite
def strong_matrices(draw):
    """A weak view's geometry followed by rotation, shear and translation about the centre."""
    affine = geometry.about_centre(
        120.0,
        90.0,
        angle=draw(st.floats(-30, 30)),
        shear_x=draw(st.floats(-30, 30)),
        shear_y=draw(st.floats(-30, 30)),
        translate_x=draw(st.floats(-12, 12)),
        translate_y=draw(st.floats(-9, 9)),
    )
    return affine @ draw(weak_matrices())


@settings(max_examples=200, deadline=None)
@given(boxes(), weak_matrices(), strong_matrices())
def test_weak_to_strong_equals_the_strong_views_ground_truth(gt, weak, strong):
    size = (90, 120)
    in_weak = geometry.transform_boxes(gt, weak)
    moved = geometry.transform_boxes(in_weak, geometry.between(strong, weak), size)
    direct = geometry.transform_boxes(gt, strong, size)
    assert torch.allclose(moved, direct, atol=1e-6)


def test_flip_by_hand():
    box = torch.tensor([[10.0, 20.0, 30.0, 50.0]])
    assert geometry.transform_boxes(box, geometry.hflip(100.0)).tolist() == [[70.0, 20.0, 90.0, 50.0]]


def test_rotation_by_hand():
    box = torch.tensor([[40.0, 45.0, 60.0, 55.0]])
    rotated = geometry.transform_boxes(box, geometry.about_centre(100.0, 100.0, angle=90.0))
    assert torch.allclose(rotated, torch.tensor([[45.0, 40.0, 55.0, 60.0]]), atol=1e-9)
    tilted = geometry.transform_boxes(torch.tensor([[40.0, 40.0, 60.0, 60.0]]), geometry.about_centre(100, 100, 45.0))
    half = 10.0 * math.sqrt(2.0)
    assert torch.allclose(tilted, torch.tensor([[50 - half, 50 - half, 50 + half, 50 + half]]), atol=1e-5)


def test_clipping_and_moving_drops_boxes_outside():
    targets = {"boxes": torch.tensor([[10.0, 10.0, 20.0, 20.0], [0.0, 0.0, 5.0, 5.0]]), "labels": torch.tensor([1, 2])}
    source = View(torch.zeros(3, 40, 40), geometry.identity())
    target = View(torch.zeros(3, 40, 40), geometry.about_centre(40, 40, translate_x=-8.0))
    moved = pseudo_boxes.move(targets, source, target)
    assert moved["boxes"].tolist() == [[2.0, 10.0, 12.0, 20.0]] and moved["labels"].tolist() == [1]


def test_a_warped_image_puts_the_object_where_the_matrix_puts_its_box():
    image = torch.zeros(1, 40, 60)
    image[0, 10:20, 5:15] = 1.0
    matrix = geometry.about_centre(60, 40, translate_x=7.0, translate_y=3.0) @ geometry.hflip(60)
    out = warp(image, matrix, (40, 60))
    ((x1, y1, x2, y2),) = geometry.transform_boxes(torch.tensor([[5.0, 10.0, 15.0, 20.0]]), matrix).tolist()
    inside = out[0, round(y1) : round(y2), round(x1) : round(x2)]
    assert inside.min() > 0.99 and out.sum() == inside.sum()


def test_views_record_their_matrix_and_size():
    gen = torch.Generator().manual_seed(0)
    images = [torch.randint(0, 256, (3, 48, 64), dtype=torch.uint8, generator=gen)]
    views = DetectionViews(scale_range=(0.5, 0.5))
    (weak,) = views.weak(images, gen)
    assert weak.size == (24, 32) and torch.allclose(
        torch.linalg.det(weak.matrix[:2, :2]).abs(), torch.tensor(0.25).double()
    )
    (strong,) = views.strong(images, gen)
    assert strong.size == (24, 32) and strong.image.min() >= 0 and strong.image.max() <= 1
