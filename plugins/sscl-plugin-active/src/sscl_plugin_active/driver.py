"""The driver of the config's ``active_learning`` section (registered with ``register_active_learning``): at the
start of each task, before any other ``before_task``, the strategy chooses the task's labels from its whole pool,
scored by the model as it stands, within ``budget_per_class`` (the seed's protocol: the ranking is walked and each
image counts against its oracle class's budget) or ``budget_per_task`` (no label read before acquisition); the
user guide's "Active learning" section has the details."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import attrs
import torch
from torch import Tensor

from sscl_core.api.components import build, hyperparameters, param
from sscl_core.api.errors import SsclError
from sscl_core.api.hookspecs import hookimpl
from sscl_core.api.query import Candidates, QueryStrategy
from sscl_core.api.validators import at_least_one
from sscl_core.library.batches import test_views

if TYPE_CHECKING:
    from sscl_core.api.context import RunContext
    from sscl_core.api.task import Task
    from sscl_core.plugins.registry import Registry

SETTINGS = ("strategy", "budget_per_class", "budget_per_task")
"""Keys of the ``active_learning`` section that are not strategy hyperparameters."""


@attrs.define(kw_only=True)
class Budget:
    """How many labels the strategy may acquire per task: per class of the task, or for the task as a whole."""

    budget_per_class: int | None = param(None, help="labels per class of each task", validator=at_least_one)
    budget_per_task: int | None = param(None, help="labels per task, whatever their class", validator=at_least_one)

    def __attrs_post_init__(self) -> None:
        if (self.budget_per_class is None) == (self.budget_per_task is None):
            raise ValueError("set exactly one of budget_per_class and budget_per_task")


@attrs.define(eq=False)
class ActiveLearner:
    """The run's active-learning step: a lifecycle member whose ``before_task`` chooses the task's labels.

    Records the cost of each selection (scoring, ranking and acquisition, in seconds) and adds it to the
    run's metrics under ``active_learning``.
    """

    name = "active-learning"
    strategy: QueryStrategy
    budget: Budget
    seconds: list[float] = attrs.field(factory=list)

    def resolved(self) -> dict[str, Any]:
        """The config section with every default filled in."""
        return {"strategy": type(self.strategy).name, **hyperparameters(self.budget), **hyperparameters(self.strategy)}

    @hookimpl(tryfirst=True)
    def before_task(self, ctx: RunContext, task: Task) -> None:
        """Replace the task's labels by the strategy's choice and log what was chosen."""
        start = time.perf_counter()
        task.clear_labels()
        columns = score_columns(ctx, task)
        if self.strategy.uses_model:
            probs, features = score_pool(ctx, task, columns, self.strategy.needs_features)
        else:
            probs, features = torch.full((len(task), len(columns)), 1.0 / len(columns)), None
        chosen, lookups = self._select(task, probs, features, columns, ctx.generator)
        seconds = time.perf_counter() - start
        self.seconds.append(seconds)
        labels = task.labeled_y
        ctx.log(
            "active_learning",
            task=task.id,
            strategy=type(self.strategy).name,
            budget=hyperparameters(self.budget),
            chosen=[r.tolist() for r in chosen],
            labeled=task.labeled_index.tolist(),
            labels_per_class={int(c): int((labels == c).sum()) for c in task.classes},
            class_lookups=lookups,
            seconds=seconds,
        )

    @hookimpl
    def after_run(self, metrics: dict[str, Any]) -> None:
        """Add the selection cost per task and in total to the run's metrics."""
        metrics["active_learning"] = {
            **self.resolved(),
            "selection_seconds": list(self.seconds),
            "total_selection_seconds": sum(self.seconds),
        }

    def state_dict(self) -> dict[str, Any]:
        """The selection times so far, so a resumed run reports every task's."""
        return {"seconds": list(self.seconds)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.seconds = [float(s) for s in state["seconds"]]

    def _select(
        self, task: Task, probs: Tensor, features: Tensor | None, columns: list[int], generator: torch.Generator
    ) -> tuple[list[Tensor], int]:
        """Run the strategy's rounds and acquire the labels.

        Returns the indices chosen in each round and how many candidates' classes the per-class budgets looked
        up (0 for a per-task budget).
        """
        per_class = self.budget.budget_per_class
        keep = task.labelable().nonzero().flatten()
        position = torch.full((len(task),), -1, dtype=torch.long)
        position[keep] = torch.arange(len(keep))
        probs, features = probs[keep], features[keep] if features is not None else None
        if per_class is not None:
            counts = torch.bincount(task.oracle_y[keep], minlength=max(task.classes) + 1)
            remaining = {c: min(per_class, int(counts[c])) for c in task.classes}
        else:
            remaining = {None: min(self.budget.budget_per_task, len(keep))}
        column_of = torch.full((max(columns) + 1,), -1, dtype=torch.long)
        column_of[columns] = torch.arange(len(columns))
        rounds = max(1, self.strategy.rounds)
        labeled, labels = torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long)
        chosen, lookups = [], 0
        for r in range(rounds):
            quota = {key: math.ceil(left / (rounds - r)) for key, left in remaining.items()}
            if sum(quota.values()) == 0:
                continue
            candidates = Candidates(probs=probs, features=features, labeled=position[labeled], labels=column_of[labels])
            if per_class is None:
                picked = keep[self._ask(candidates, quota[None], generator)]
            else:
                ranking = keep[self._ask(candidates, len(keep) - len(labeled), generator)]
                picked, looked_up = take_per_class(ranking, task.oracle_y[ranking], quota)
                lookups += looked_up
            acquired = task.acquire_labels(picked)
            for key in remaining:
                remaining[key] -= len(picked) if key is None else int((acquired == key).sum())
            labeled, labels = torch.cat([labeled, picked]), torch.cat([labels, acquired])
            chosen.append(picked)
        return chosen, lookups

    def _ask(self, candidates: Candidates, budget: int, generator: torch.Generator) -> Tensor:
        """The strategy's choice, checked: exactly min(budget, unlabeled) distinct unlabeled candidates."""
        name = type(self.strategy).name
        picked = torch.as_tensor(self.strategy.select(candidates, budget, generator), dtype=torch.long).flatten()
        unlabeled = set(candidates.unlabeled().tolist())
        values = picked.tolist()
        expected = min(budget, len(unlabeled))
        if len(values) != expected or len(set(values)) != len(values) or not set(values) <= unlabeled:
            raise SsclError(
                f"query strategy '{name}' returned {len(values)} indices for a budget of {expected}: it must return "
                "that many distinct indices of unlabeled candidates"
            )
        return picked


def take_per_class(ranking: Tensor, classes: Tensor, quota: dict[int, int]) -> tuple[Tensor, int]:
    """The first ``quota[c]`` images of each class ``c`` in ``ranking``, in ranking order, and how far down the
    ranking the walk went (the number of candidates whose class it looked up)."""
    left = {c: n for c, n in quota.items() if n > 0}
    taken, walked = [], 0
    for index, c in zip(ranking.tolist(), classes.tolist(), strict=True):
        if not left:
            break
        walked += 1
        if c in left:
            taken.append(index)
            left[c] -= 1
            if left[c] == 0:
                del left[c]
    return torch.tensor(taken, dtype=torch.long), walked


def score_columns(ctx: RunContext, task: Task) -> list[int]:
    """The classes a selection scores: every class seen so far in class-IL, the task's own classes otherwise."""
    return ctx.seen_classes() if ctx.stream.scenario == "class-il" else list(task.classes)


@torch.no_grad()
def score_pool(ctx: RunContext, task: Task, columns: list[int], with_features: bool) -> tuple[Tensor, Tensor | None]:
    """The model's probabilities over ``columns`` for every training image of ``task`` (and its features).

    Runs in eval mode, batched by ``train.eval_batch_size``, under no_grad; logits come from the method's
    ``eval_logits`` (given the task id in task-IL), as in evaluation. Results are on the CPU.
    """
    model = ctx.model
    was_training = model.training
    model.eval()
    task_id = None if ctx.stream.scenario == "class-il" else task.id
    probs, features = [], []
    try:
        for _rows, x in test_views(ctx, task.train_x):
            logits = ctx.method.eval_logits(x, task_id, ctx)[:, columns]
            probs.append(torch.softmax(logits.float(), dim=1).cpu())
            if with_features:
                features.append(model.features(x).float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(probs), torch.cat(features) if with_features else None


def build_active_learner(spec: dict[str, Any], registry: Registry) -> ActiveLearner:
    """The active-learning step of a config's ``active_learning`` section; bad settings are one SsclError."""
    if not isinstance(spec, dict):
        example = "{strategy: entropy, budget_per_class: 5}"
        raise SsclError(f"active_learning: expected a mapping like {example}, got {spec!r}")
    strategy = spec.get("strategy")
    if not isinstance(strategy, str):
        names = ", ".join(registry.names("query_strategy")) or "none installed"
        raise SsclError(f"active_learning.strategy: name a query strategy ({names}), got {strategy!r}")
    budget = build(Budget, {k: v for k, v in spec.items() if k in SETTINGS[1:]}, "active_learning")
    params = {k: v for k, v in spec.items() if k not in SETTINGS}
    return ActiveLearner(strategy=registry.create("query_strategy", {"name": strategy, **params}), budget=budget)
