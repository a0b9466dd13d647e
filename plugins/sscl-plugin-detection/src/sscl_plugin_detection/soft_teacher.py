"""SoftTeacher (Xu et al., ICCV 2021) as an unlabeled loss for detection: ``er+soft-teacher``,
``finetune+soft-teacher``.

The teacher, an EMA of the student (momentum 0.999, every iteration, BatchNorm statistics averaged too),
detects on the weak view; detections with score > ``score_threshold`` (0.5) are pseudo-boxes, moved to the
strong view through the views' recorded matrices. Those above ``cls_threshold`` (0.9) train the student's RPN
and classification head; with ``background_weighting`` each negative proposal's classification loss is
weighted by the teacher's background score of it (mapped back to the weak view). With ``box_jitter`` a
pseudo-box trains the box regression only if the spread of the teacher's refinements of 10 jittered copies
(sigma 0.06 of its size) is below ``reg_uncertainty`` (0.02). The terms are weighted by ``weight`` (4.0).
Both add-ons need Faster R-CNN; on other detectors the loss is the mean teacher with hard thresholds (the
detector's own losses on the ``cls_threshold`` pseudo-boxes).
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import torch
from torch import Tensor
from torchvision.models.detection.roi_heads import fastrcnn_loss

from sscl_core import RunContext, SemiBatch, UnlabeledLoss, component, hookimpl, param
from sscl_core.api.validators import probability
from sscl_plugin_detection import PROBLEM, geometry, pseudo_boxes, rcnn_parts
from sscl_plugin_detection.teacher import ema_update, frozen_copy


@component
class SoftTeacher(UnlabeledLoss):
    """SoftTeacher's mean teacher, pseudo-box thresholds, background weighting and box jittering."""

    name = "soft-teacher"
    views: ClassVar[tuple[str, ...]] = ("weak", "strong")
    problems: ClassVar[tuple[str, ...]] = (PROBLEM,)
    weight: float = param(4.0, help="weight of the unsupervised losses", validator=attrs.validators.ge(0.0))
    momentum: float = param(0.999, help="EMA momentum of the teacher", validator=probability)
    score_threshold: float = param(
        0.5, help="teacher score a detection needs to be a pseudo-box", validator=probability
    )
    cls_threshold: float = param(0.9, help="score for the RPN and classification losses", validator=probability)
    reg_uncertainty: float = param(0.02, help="largest jitter spread for the regression loss", validator=probability)
    background_weighting: bool = param(True, help="weight negatives by the teacher's background score")
    box_jitter: bool = param(True, help="filter regression pseudo-boxes by their jittering spread")
    jitter_copies: int = param(10, help="jittered copies per pseudo-box", validator=attrs.validators.ge(2))
    jitter_sigma: float = param(0.06, help="jitter offset std, as a share of the box size", validator=probability)

    def __attrs_post_init__(self) -> None:
        self.teacher: torch.nn.Module | None = None

    @hookimpl
    def before_run(self, ctx: RunContext) -> None:
        """The teacher starts as a copy of the student."""
        self.teacher = frozen_copy(ctx.model)

    @hookimpl
    def after_iter(self, ctx: RunContext) -> None:
        """The EMA step after every optimizer step."""
        ema_update(self.teacher, ctx.model, self.momentum)

    def state_dict(self) -> dict[str, Any]:
        """The teacher's weights and buffers."""
        return {"teacher": dict(self.teacher.state_dict())}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the teacher."""
        self.teacher.load_state_dict(state["teacher"])

    @torch.no_grad()
    def pseudo_targets(self, weak: list, strong: list, generator: torch.Generator) -> tuple[list, list, Any]:
        """Per image: the classification/RPN pseudo-boxes and the regression pseudo-boxes in the strong view, and
        what background weighting needs of the teacher (its feature maps and batch)."""
        teacher = self.teacher.detector
        batch, _targets, maps = rcnn_parts.features(teacher, [v.image for v in weak])
        proposals, _ = teacher.rpn(batch, maps)
        detections, _ = teacher.roi_heads(maps, proposals, batch.image_sizes)
        cls_targets, reg_targets = [], []
        for i, found in enumerate(detections):
            kept = pseudo_boxes.select(found, self.score_threshold)
            confident = pseudo_boxes.select(kept, self.cls_threshold)
            if self.box_jitter:
                single = {key: value[i : i + 1] for key, value in maps.items()}

                def refine(boxes: Tensor, labels: Tensor, single=single, size=batch.image_sizes[i]) -> Tensor:
                    return rcnn_parts.refine(teacher, single, boxes, labels, size)

                spread = pseudo_boxes.box_uncertainty(
                    kept["boxes"], kept["labels"], refine, self.jitter_copies, self.jitter_sigma, generator
                )
                kept = {key: value[spread < self.reg_uncertainty] for key, value in kept.items()}
            cls_targets.append(pseudo_boxes.move(_boxes(confident), weak[i], strong[i]))
            reg_targets.append(pseudo_boxes.move(_boxes(kept), weak[i], strong[i]))
        return cls_targets, reg_targets, (maps, batch.image_sizes)

    def losses(self, batch: SemiBatch, ctx: RunContext) -> dict[str, Tensor]:
        """The student's RPN, classification and regression losses on the strong view against the pseudo-boxes."""
        student = ctx.model.detector
        cls_targets, reg_targets, teacher_side = self.pseudo_targets(batch.u_weak, batch.u_strong, ctx.generator)
        images = [v.image for v in batch.u_strong]
        if not rcnn_parts.is_faster_rcnn(student):
            return {"soft_teacher": sum(student(images, cls_targets).values())}
        images_batch, cls_targets, maps = rcnn_parts.features(student, images, cls_targets)
        proposals, rpn = student.rpn(images_batch, maps, cls_targets)
        heads, sizes = student.roi_heads, images_batch.image_sizes
        sampled, _, labels, _ = heads.select_training_samples(proposals, [dict(t) for t in cls_targets])
        logits, _ = rcnn_parts.predict(student, maps, sampled, sizes)
        labels = torch.cat(labels)
        weights = torch.ones_like(logits[:, 0])
        if self.background_weighting:
            weights = torch.where(labels == 0, self.teacher_background(sampled, batch, teacher_side), weights)
        reg_sampled, _, reg_labels, reg_deltas = heads.select_training_samples(proposals, reg_targets)
        reg_logits, reg_boxes = rcnn_parts.predict(student, maps, reg_sampled, sizes)
        _, reg_loss = fastrcnn_loss(reg_logits, reg_boxes, reg_labels, reg_deltas)
        return {
            "soft_teacher_rpn": rpn["loss_objectness"] + rpn["loss_rpn_box_reg"],
            "soft_teacher_cls": rcnn_parts.weighted_classification_loss(logits, labels, weights),
            "soft_teacher_reg": reg_loss,
        }

    @torch.no_grad()
    def teacher_background(self, proposals: list[Tensor], batch: SemiBatch, teacher_side: Any) -> Tensor:
        """The teacher's background score of each student proposal, mapped from the strong to the weak view."""
        maps, sizes = teacher_side
        moved = [
            geometry.transform_boxes(p, geometry.between(weak.matrix, strong.matrix), weak.size)
            for p, strong, weak in zip(proposals, batch.u_strong, batch.u_weak, strict=True)
        ]
        return rcnn_parts.background_scores(self.teacher.detector, maps, moved, sizes)


def _boxes(found: dict[str, Tensor]) -> dict[str, Tensor]:
    return {"boxes": found["boxes"], "labels": found["labels"]}
