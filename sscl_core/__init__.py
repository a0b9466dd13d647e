"""sscl: a plugin framework for semi-supervised continual learning on edge devices; these names are its
public API (docs/plugin-guide.md)."""

from sscl_core.api.backbone import Backbone
from sscl_core.api.batch import SemiBatch
from sscl_core.api.callback import Callback
from sscl_core.api.command import Command
from sscl_core.api.components import component, param
from sscl_core.api.context import RunContext
from sscl_core.api.dataset import Dataset
from sscl_core.api.errors import SsclError
from sscl_core.api.evaluator import Evaluator
from sscl_core.api.hookspecs import hookimpl
from sscl_core.api.memory import MemoryPool, Samples
from sscl_core.api.method import Method
from sscl_core.api.model import ANY_PROBLEM, Model
from sscl_core.api.query import QueryStrategy
from sscl_core.api.task import SCENARIOS, BatchTransforms, Task, TaskStream
from sscl_core.api.unlabeled import UnlabeledLoss
from sscl_core.classification.model import ClassifierModel

__all__ = [
    "ANY_PROBLEM",
    "SCENARIOS",
    "Backbone",
    "BatchTransforms",
    "Callback",
    "ClassifierModel",
    "Command",
    "Dataset",
    "Evaluator",
    "MemoryPool",
    "Method",
    "Model",
    "QueryStrategy",
    "RunContext",
    "Samples",
    "SemiBatch",
    "SsclError",
    "Task",
    "TaskStream",
    "UnlabeledLoss",
    "component",
    "hookimpl",
    "param",
]
