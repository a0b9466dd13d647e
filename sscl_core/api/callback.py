"""The callback interface: components that only observe a run through lifecycle hooks."""

from typing import ClassVar

from sscl_core.api.components import component


@component
class Callback:
    """Base class of callbacks; implement lifecycle hooks as ``@hookimpl`` methods."""

    name: ClassVar[str]
