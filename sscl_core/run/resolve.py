"""Turning a RunConfig into component instances, checked against each other, before any data is loaded."""

from typing import Any

import attrs
import torch

from sscl_core.api.backbone import Backbone
from sscl_core.api.callback import Callback
from sscl_core.api.components import hyperparameters
from sscl_core.api.dataset import Dataset
from sscl_core.api.errors import SsclError
from sscl_core.api.evaluator import Evaluator
from sscl_core.api.memory import MemoryPool
from sscl_core.api.method import Method
from sscl_core.api.model import ANY_PROBLEM, Model
from sscl_core.api.unlabeled import UnlabeledLoss
from sscl_core.config.run_config import RunConfig
from sscl_core.plugins.registry import Registry


@attrs.define(eq=False)
class Components:
    """The components selected by a config, built with their hyperparameters."""

    dataset: Dataset
    backbone: Backbone | None
    model: Model
    evaluator: Evaluator
    method: Method
    memory_pool: MemoryPool | None
    callbacks: list[Callback]
    active_learning: Any = None
    """The active-learning step (a lifecycle member) of the config's ``active_learning`` section, if any."""
    unlabeled: UnlabeledLoss | None = None

    def method_label(self) -> str:
        """The method as runs name it: ``der``, or ``der+fixmatch`` with an unlabeled loss."""
        name = type(self.method).name
        return f"{name}+{type(self.unlabeled).name}" if self.unlabeled is not None else name

    def resolved_config(self, config: RunConfig) -> dict[str, Any]:
        """The config with every component's full hyperparameters (defaults included)."""
        data = config.to_dict()

        def spec(instance: Any) -> dict[str, Any]:
            return {"name": type(instance).name, **hyperparameters(instance)}

        for section in ("dataset", "backbone", "model", "evaluator", "method", "unlabeled", "memory_pool"):
            instance = getattr(self, section)
            data[section] = spec(instance) if instance is not None else None
        data["callbacks"] = [spec(c) for c in self.callbacks]
        data["active_learning"] = self.active_learning.resolved() if self.active_learning is not None else None
        return data


def _with_default(spec: dict[str, Any] | None, default: dict[str, Any]) -> dict[str, Any]:
    """The configured component, completed by the default when the name is left out or the same."""
    spec = dict(spec or {})
    if spec.get("name", default["name"]) == default["name"]:
        return {**default, **spec}
    return spec


def _check_problem(dataset: Dataset, role: str, component: Any) -> None:
    problems = component.problems
    if dataset.problem in problems or (role in ("method", "unlabeled loss") and ANY_PROBLEM in problems):
        return
    raise SsclError(
        f"{role} '{component.name}' works on {', '.join(problems) or 'no problem kind'} streams, but dataset "
        f"'{dataset.name}' is a {dataset.problem} stream: choose a {role} for {dataset.problem} or another dataset"
    )


def resolve_components(config: RunConfig, registry: Registry) -> Components:
    """Build every component of ``config``; refuse a method that does not support the dataset's scenario or
    problem kind, and a model or evaluator for another problem kind."""
    dataset = registry.create("dataset", config.dataset)
    method = registry.create("method", config.method)
    unlabeled = registry.create("unlabeled_loss", config.unlabeled) if config.unlabeled is not None else None
    model = registry.create("model", _with_default(config.model, dataset.default_model))
    if model.uses_backbone and config.backbone is None:
        raise SsclError(f"backbone: model '{model.name}' builds on a backbone: name one (sscl list backbones)")
    backbone = registry.create("backbone", config.backbone) if model.uses_backbone else None
    evaluator = registry.create("evaluator", _with_default(config.evaluator, dataset.default_evaluator))
    checked = (("model", model), ("evaluator", evaluator), ("method", method), ("unlabeled loss", unlabeled))
    for role, component in checked:
        if component is not None:
            _check_problem(dataset, role, component)
    if dataset.scenario not in method.compatibility:
        raise SsclError(
            f"method '{method.name}' supports {', '.join(method.compatibility)}, but the dataset's scenario is "
            f"{dataset.scenario}: set dataset.scenario to one of those or choose another method"
        )
    pool = None
    if method.uses_memory_pool:
        pool = registry.create("memory_pool", _with_default(config.memory_pool, dict(method.default_memory_pool)))
    callbacks = [registry.create("callback", spec) for spec in config.callbacks]
    active = _active_learner(config.active_learning, registry) if config.active_learning is not None else None
    return Components(
        dataset=dataset,
        backbone=backbone,
        model=model,
        evaluator=evaluator,
        method=method,
        memory_pool=pool,
        callbacks=callbacks,
        active_learning=active,
        unlabeled=unlabeled,
    )


def _active_learner(section: Any, registry: Registry) -> Any:
    """The step that runs the ``active_learning`` section, built by the plugin that registered it."""
    if registry.active_learning is None:
        raise registry.missing("the active_learning section (labels chosen by a query strategy)", "sscl-plugin-active")
    return registry.active_learning[0](section, registry)


DEVICE_TYPES = ("cpu", "cuda", "mps")
"""The kinds of device a run can train on."""


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA, then MPS, then the CPU; an explicit device must exist."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        device = None
    if device is None or device.type not in DEVICE_TYPES:
        raise SsclError(f"device: unknown device '{name}' (use auto, cpu, cuda, cuda:N or mps)")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SsclError(f"device: '{name}' asked for, but CUDA is not available here: use device=auto or cpu")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise SsclError(f"device: '{name}' asked for, but MPS is not available here: use device=auto or cpu")
    return device
