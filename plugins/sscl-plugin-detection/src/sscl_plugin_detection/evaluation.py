"""COCO mAP of every task seen so far: pycocotools' COCOeval on each task's validation images and categories.

A task's score is COCO's AP@[.5:.95] (``map``) and AP@.5 (``map50``), in points (x100), with at most
``max_detections`` detections per image (COCO's standard 100; the original toolbox used 1000). The mAP over
every category seen so far, on the union of the seen tasks' validation images, is returned as an extra entry
(``map_all_seen``: one number), which the run logs with the matrices' rows in events.jsonl.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any, ClassVar

import attrs
import torch

from sscl_core import Evaluator, RunContext, component, param
from sscl_core.library.batches import test_views
from sscl_plugin_detection import PROBLEM


def coco_ground_truth(targets: list[dict[str, Any]], sizes: list[tuple[int, int]], labels: list[int]) -> dict:
    """A COCO instances dict of ``targets`` (image i gets id i), in the cached images' coordinates."""
    annotations = []
    for i, target in enumerate(targets):
        for box, label, crowd in zip(
            target["boxes"].tolist(), target["labels"].tolist(), target["iscrowd"].tolist(), strict=False
        ):
            w, h = box[2] - box[0], box[3] - box[1]
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": i,
                    "category_id": label,
                    "bbox": [box[0], box[1], w, h],
                    "area": w * h,
                    "iscrowd": int(crowd),
                }
            )
    images = [{"id": i, "height": h, "width": w} for i, (h, w) in enumerate(sizes)]
    return {"images": images, "annotations": annotations, "categories": [{"id": c} for c in labels]}


def coco_map(
    ground_truth: dict, detections: list[dict[str, torch.Tensor]], categories: list[int], max_detections: int
) -> tuple[float, float]:
    """(AP@[.5:.95], AP@.5) in points of ``detections`` (one dict per image of ``ground_truth``) on
    ``categories``; 0 when there is no detection of them."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    results = []
    for image_id, found in enumerate(detections):
        for box, label, score in zip(
            found["boxes"].tolist(), found["labels"].tolist(), found["scores"].tolist(), strict=False
        ):
            if label in categories:
                results.append(
                    {
                        "image_id": image_id,
                        "category_id": label,
                        "score": score,
                        "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]],
                    }
                )
    if not results:
        return 0.0, 0.0
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = ground_truth
        gt.createIndex()
        evaluation = COCOeval(gt, gt.loadRes(results), "bbox")
        evaluation.params.catIds = list(categories)
        evaluation.params.maxDets = [1, 10, max_detections]
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    ap, ap50 = (max(0.0, float(v)) for v in evaluation.stats[:2])
    return 100.0 * ap, 100.0 * ap50


@component
class CocoMAP(Evaluator):
    """COCO AP@[.5:.95] and AP@.5 (points) on each seen task's validation images and categories."""

    name = "coco-map"
    problems: ClassVar[tuple[str, ...]] = (PROBLEM,)
    metrics: ClassVar[tuple[str, ...]] = ("map", "map50")
    result_key: ClassVar[str] = "detection"
    max_detections: int = param(
        100, help="detections per image COCOeval counts (COCO's standard: 100)", validator=attrs.validators.ge(1)
    )

    @torch.no_grad()
    def evaluate(self, ctx: RunContext) -> dict[str, list[float]]:
        """Detections once per distinct validation image, then COCOeval per task and over all seen categories."""
        ctx.model.eval()
        found: dict[int, dict[str, torch.Tensor]] = {}
        truth: dict[int, tuple[dict[str, Any], tuple[int, int]]] = {}
        scores: dict[str, list[float]] = {"map": [], "map50": []}
        for task in ctx.stream.tasks[: ctx.task_index + 1]:
            ids = [target["image_id"] for target in task.test_y]
            for rows, views in test_views(ctx, task.test_x):
                todo = [k for k, image_id in enumerate(ids[rows]) if image_id not in found]
                if todo:
                    outputs = ctx.method.eval_logits([views[k] for k in todo], task.id, ctx)
                    for k, output in zip(todo, outputs, strict=True):
                        image_id = ids[rows][k]
                        found[image_id] = {key: value.cpu() for key, value in output.items()}
                        truth[image_id] = (task.test_y[rows.start + k], views[k].size)
            ap, ap50 = self._score([truth[i] for i in ids], [found[i] for i in ids], list(task.classes))
            scores["map"].append(ap)
            scores["map50"].append(ap50)
        seen = list(truth)
        ap, _ap50 = self._score([truth[i] for i in seen], [found[i] for i in seen], ctx.seen_classes())
        ctx.model.train()
        return {**scores, "map_all_seen": [ap]}

    def _score(self, truth: list[tuple[dict, tuple[int, int]]], found: list[dict], categories: list[int]):
        labels = sorted({int(v) for target, _ in truth for v in target["labels"].tolist()} | set(categories))
        ground_truth = coco_ground_truth([t for t, _ in truth], [s for _, s in truth], labels)
        return coco_map(ground_truth, found, categories, self.max_detections)
