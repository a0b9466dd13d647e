"""The dataset interface: a component that builds a task stream."""

from pathlib import Path
from typing import Any, ClassVar

from sscl_core.api.components import component, one_of, param
from sscl_core.api.task import SCENARIOS, TaskStream


@component
class Dataset:
    """Base class of dataset components: ``build_stream(seed)`` returns the run's :class:`TaskStream`; the scenario
    (a field) and ``problem`` let the run check the method before data loads, ``default_model``/``default_evaluator``
    serve configs that name none."""

    name: ClassVar[str]
    problem: ClassVar[str] = "classification"
    default_model: ClassVar[dict[str, Any]] = {"name": "classifier"}
    default_evaluator: ClassVar[dict[str, Any]] = {"name": "accuracy"}
    cache_root: ClassVar[Path | None] = None
    """Where data the dataset derives and keeps (e.g. decoded images) belongs: ``<output_dir>/.cache``, shared by
    the runs of one output folder, set on the instance by :func:`place_cache` before :meth:`build_stream`; None
    when the dataset is built outside a run. Not a hyperparameter."""
    scenario: str = param(
        "task-il", help="continual scenario: task-il, class-il or domain-il", validator=one_of(*SCENARIOS)
    )

    def build_stream(self, seed: int) -> TaskStream:
        """Load the data and split it into tasks; ``seed`` fixes class order and label choices."""
        raise NotImplementedError


def place_cache(dataset: Dataset, output_dir: str | Path) -> None:
    """Set ``dataset.cache_root`` to ``output_dir/.cache``, the folder beside the runs (frozen classes too)."""
    object.__setattr__(dataset, "cache_root", Path(output_dir) / ".cache")
