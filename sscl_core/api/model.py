"""The model interface: the component that builds the network a problem kind trains."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from torch import nn

from sscl_core.api.components import component

if TYPE_CHECKING:
    from sscl_core.api.backbone import Backbone
    from sscl_core.api.task import TaskStream

ANY_PROBLEM = "*"
"""In a method's ``problems``: every problem kind whose model has a ``loss(outputs, targets)``."""


@component
class Model:
    """Base class of model components: a factory for the network of one or more problem kinds.

    ``build(stream, backbone)`` returns the ``nn.Module`` the run trains (``ctx.model``): it maps a batch of
    inputs to the outputs the problem's evaluator scores. A model that methods train generically (``finetune``,
    ``er``) also has ``loss(outputs, targets, reduction="mean")``, the problem's supervised loss (``"none"``:
    one value per sample). ``problems`` lists the kinds it builds networks for; ``uses_backbone`` says whether
    it builds on the run's backbone component.
    """

    name: ClassVar[str]
    problems: ClassVar[tuple[str, ...]] = ()
    uses_backbone: ClassVar[bool] = True

    def build(self, stream: TaskStream, backbone: Backbone | None) -> nn.Module:
        """A new, freshly initialized network for ``stream``, built on ``backbone`` (``None`` when the model sets
        ``uses_backbone = False``: then the config's backbone section is not resolved)."""
        raise NotImplementedError
