"""A conformance kit for plugin authors: check a component on a tiny synthetic stream, with no other plugin
(``testing.check_method(MyMethod, tmp_path)``; the plugin guide, "Test with the conformance kit", shows each check)."""

from sscl_core.testing.checks import (
    check_memory_pool,
    check_method,
    check_query_strategy,
    check_resume,
    check_unlabeled_loss,
)
from sscl_core.testing.numerics import kernels_fingerprint
from sscl_core.testing.synthetic import (
    KILL_MARK,
    KillAt,
    LabeledCrossEntropy,
    SimulatedKill,
    SyntheticDataset,
    SyntheticTransforms,
    TinyBackbone,
    make_registry,
    run_tiny,
    tiny_config,
)

__all__ = [
    "KILL_MARK",
    "KillAt",
    "LabeledCrossEntropy",
    "SimulatedKill",
    "SyntheticDataset",
    "SyntheticTransforms",
    "TinyBackbone",
    "check_memory_pool",
    "check_method",
    "check_query_strategy",
    "check_resume",
    "check_unlabeled_loss",
    "kernels_fingerprint",
    "make_registry",
    "run_tiny",
    "tiny_config",
]
