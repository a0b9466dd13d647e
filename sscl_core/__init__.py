"""sscl: a plugin framework for semi-supervised continual learning on edge devices.

The core defines the hooks, the component interfaces, the trainer and the evaluation; every dataset,
backbone, method, memory pool, query strategy and callback comes from a plugin.
"""

from sscl_core.backbone import Backbone
from sscl_core.batch import SemiBatch
from sscl_core.callback import Callback
from sscl_core.classification.model import ClassifierModel
from sscl_core.components import component, param
from sscl_core.context import RunContext
from sscl_core.dataset import Dataset
from sscl_core.errors import SsclError
from sscl_core.evaluator import Evaluator
from sscl_core.hookspecs import hookimpl
from sscl_core.memory import MemoryPool, Samples
from sscl_core.method import Method
from sscl_core.model import ANY_PROBLEM, Model
from sscl_core.query import QueryStrategy
from sscl_core.task import SCENARIOS, BatchTransforms, Task, TaskStream
from sscl_core.unlabeled import UnlabeledLoss

__all__ = [
    "ANY_PROBLEM",
    "SCENARIOS",
    "Backbone",
    "BatchTransforms",
    "Callback",
    "ClassifierModel",
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
