"""Object detection as an sscl problem kind: COCO-format streams, torchvision detectors, COCO mAP, SoftTeacher."""

PROBLEM = "detection"
"""The problem kind of the streams, models, evaluator and unlabeled loss of this distribution."""
