"""sscl: a plugin framework for semi-supervised continual learning on edge devices.

The core defines the hooks, the component interfaces, the trainer and the evaluation; every dataset,
backbone, method, memory pool, query strategy and callback comes from a plugin, and so do the commands
beyond run, config, plugins, list and describe.
"""

from sscl_core.backbone import Backbone, ClassifierModel
from sscl_core.batch import SemiBatch
from sscl_core.callback import Callback
from sscl_core.command import Command
from sscl_core.components import component, param
from sscl_core.context import RunContext
from sscl_core.dataset import Dataset
from sscl_core.errors import SsclError
from sscl_core.hookspecs import hookimpl
from sscl_core.memory import MemoryPool, Samples
from sscl_core.method import Method
from sscl_core.query import QueryStrategy
from sscl_core.task import SCENARIOS, BatchTransforms, Task, TaskStream
from sscl_core.unlabeled import UnlabeledLoss

__all__ = [
    "SCENARIOS",
    "Backbone",
    "BatchTransforms",
    "Callback",
    "ClassifierModel",
    "Command",
    "Dataset",
    "MemoryPool",
    "Method",
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
