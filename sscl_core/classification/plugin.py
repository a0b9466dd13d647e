"""The built-in plugin module of classification: registers its model and its evaluator."""

from sscl_core.api.hookspecs import Register, hookimpl
from sscl_core.classification.accuracy import Accuracy
from sscl_core.classification.model import Classifier


@hookimpl
def register_models(register: Register) -> None:
    """The classifier (backbone + linear head)."""
    register(Classifier)


@hookimpl
def register_evaluators(register: Register) -> None:
    """Task-IL and class-IL accuracy."""
    register(Accuracy)
