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
    """Base class of model components: ``build(stream, backbone)`` returns the network the run trains; a model that
    generic methods train also has ``loss(outputs, targets, reduction="mean")`` (the plugin guide, "Problem kinds")."""

    name: ClassVar[str]
    problems: ClassVar[tuple[str, ...]] = ()
    uses_backbone: ClassVar[bool] = True

    def build(self, stream: TaskStream, backbone: Backbone | None) -> nn.Module:
        """A new, freshly initialized network for ``stream``, built on ``backbone`` (``None`` when the model sets
        ``uses_backbone = False``: then the config's backbone section is not resolved)."""
        raise NotImplementedError
