"""The package's sscl entry point: one registration hook per kind."""

from sscl_core import hookimpl
from sscl_styles.components import COMPONENTS


@hookimpl
def register_methods(register):
    """The attrs method."""
    for cls in COMPONENTS["method"]:
        register(cls)


@hookimpl
def register_unlabeled_losses(register):
    """The frozen attrs loss."""
    for cls in COMPONENTS["unlabeled_loss"]:
        register(cls)


@hookimpl
def register_callbacks(register):
    """The dataclass callback."""
    for cls in COMPONENTS["callback"]:
        register(cls)


@hookimpl
def register_memory_pools(register):
    """The plain pool with __eq__."""
    for cls in COMPONENTS["memory_pool"]:
        register(cls)


@hookimpl
def register_query_strategies(register):
    """The plain query strategy."""
    for cls in COMPONENTS["query_strategy"]:
        register(cls)


@hookimpl
def register_datasets(register):
    """The frozen dataclass dataset."""
    for cls in COMPONENTS["dataset"]:
        register(cls)


@hookimpl
def register_backbones(register):
    """The plain backbone."""
    for cls in COMPONENTS["backbone"]:
        register(cls)
