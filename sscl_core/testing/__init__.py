"""A conformance kit for plugin authors: check a component on a tiny synthetic stream, with no other plugin.

Typical use in a plugin's tests::

    from sscl_core import testing

    def test_my_method_conforms(tmp_path):
        testing.check_method(MyMethod, tmp_path)

``check_method`` trains the method on a two-task synthetic stream and asserts that it returns finite
named losses, changes the model, and gives the same accuracy matrices twice for one seed.
``check_resume`` stops a run in the middle of its second task, resumes it from the checkpoint and asserts the
same accuracy matrices as the uninterrupted run. ``check_memory_pool`` checks a pool's budget, sampling and
state round trip; ``check_query_strategy`` a query strategy's budgets and determinism;
``check_unlabeled_loss`` an unlabeled loss composed with a plain cross-entropy method (trains, adds its terms,
is deterministic, resumes).
"""

from sscl_core.testing.checks import (
    check_memory_pool,
    check_method,
    check_query_strategy,
    check_resume,
    check_unlabeled_loss,
)
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
    "make_registry",
    "run_tiny",
    "tiny_config",
]
