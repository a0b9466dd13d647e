"""Active learning at task start: budgets, what the strategy may see, what the run records, config errors,
and every strategy with er (and any semi-supervised method installed) on digits."""

import json
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from sscl_core import Callback, Method, QueryStrategy, SsclError, Task, component, hookimpl, testing
from sscl_core.config.run_config import load_config
from sscl_core.plugins.errors import PluginError
from sscl_core.plugins.registry import load_registry
from sscl_core.run.trainer import Trainer
from sscl_plugin_active.committee import QueryByCommittee
from sscl_plugin_active.driver import build_active_learner
from sscl_plugin_active.uncertainty import Entropy, LeastConfidence, Margin, RandomQuery
from sscl_plugin_cl.er import ExperienceReplay
from sscl_plugin_cl.reservoir import ReservoirPool

STRATEGIES = ("random", "least-confidence", "margin", "entropy", "qbc")


class OracleRead(Exception):
    """Raised when a sealed oracle is read."""


class SealedOracle:
    """Stands in for a task's oracle labels until ``acquire_labels`` is called: every read raises."""

    def __init__(self, labels: torch.Tensor) -> None:
        self.labels = labels

    def __getattr__(self, name: str) -> Any:
        raise OracleRead(f"oracle read ({name}) before any label was acquired")

    def __getitem__(self, key: Any) -> Any:
        raise OracleRead("oracle indexed before any label was acquired")

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        raise OracleRead(f"oracle passed to {func.__name__} before any label was acquired")


def unseal_on_acquire(monkeypatch, opened: list[int]) -> None:
    """Make ``Task.acquire_labels`` restore a sealed oracle first, recording how many labels the task had then."""
    original = Task.acquire_labels

    def acquire(self: Task, indices: torch.Tensor) -> torch.Tensor:
        if isinstance(self.oracle_y, SealedOracle):
            opened.append(len(self.labeled_index))
            self.oracle_y = self.oracle_y.labels
        return original(self, indices)

    monkeypatch.setattr(Task, "acquire_labels", acquire)


@component
class SealOracles(Callback):
    """Seals every task's oracle when the run starts."""

    name = "seal-oracles"

    @hookimpl
    def before_run(self, ctx) -> None:
        for task in ctx.stream.tasks:
            task.oracle_y = SealedOracle(task.oracle_y)


SEEN: list[dict[str, Any]] = []
"""What :class:`RecordLabels` saw at each task's start, in order (cleared by the tests)."""


@component
class RecordLabels(Callback):
    """Records, at ``before_task`` (after the selection), the task's labeled set, their labels and the model mode."""

    name = "record-labels"

    @hookimpl
    def before_task(self, ctx, task) -> None:
        SEEN.append(
            {
                "task": task.id,
                "labeled": task.labeled_index.clone(),
                "labels": task.labeled_y.clone(),
                "training": ctx.model.training,
            }
        )


@component
class HighestIndexFirst(QueryStrategy):
    """Ranks the pool by index, highest first, and records the candidates it was shown."""

    name = "highest-index-first"
    shown: Any = None

    def select(self, candidates, budget, generator):
        type(self).shown = candidates
        return candidates.unlabeled().flip(0)[:budget]


@component
class RepeatsItself(QueryStrategy):
    """A broken strategy: returns the same index twice."""

    name = "repeats-itself"

    def select(self, candidates, budget, generator):
        return torch.zeros(2, dtype=torch.long)


EVAL_CALLS: list[tuple[int, bool, bool]] = []
METHOD_SAW: list[tuple[int, bool]] = []


@component
class ProbeCE(Method):
    """Cross-entropy; records every eval_logits call and what it sees at before_task."""

    name = "probe-ce"

    def forward_train(self, batch, ctx):
        return {"ce": F.cross_entropy(ctx.model(batch.x), batch.y)}

    def eval_logits(self, x, task_id, ctx):
        EVAL_CALLS.append((x.shape[0], ctx.model.training, torch.is_grad_enabled()))
        return ctx.model(x)

    @hookimpl
    def before_task(self, ctx, task):
        METHOD_SAW.append((len(task.labeled_index), ctx.model.training))

    @hookimpl
    def after_val(self):
        EVAL_CALLS.clear()


@component
class SnapshotEvalCalls(Callback):
    """Copies the eval_logits calls made since the last evaluation (the selection's) at before_task."""

    name = "snapshot-eval-calls"
    snapshots: list = []

    @hookimpl
    def before_task(self):
        type(self).snapshots.append(list(EVAL_CALLS))


def registry(*extra):
    reg = testing.make_registry(
        ExperienceReplay,
        ReservoirPool,
        RandomQuery,
        LeastConfidence,
        Margin,
        Entropy,
        QueryByCommittee,
        HighestIndexFirst,
        RepeatsItself,
        ProbeCE,
        RecordLabels,
        SealOracles,
        SnapshotEvalCalls,
        *extra,
    )
    reg.add_active_learning(build_active_learner, "sscl-plugin-active")
    return reg


def run_synthetic(tmp_path, active, overrides=(), method="er"):
    SEEN.clear()
    settings = ",".join(f"{k}: {v}" for k, v in active.items())
    sets = [f"active_learning={{{settings}}}", "callbacks=[record-labels]", *overrides]
    return testing.run_tiny(registry(), tmp_path, method, sets)


def events(run_dir, name="active_learning"):
    lines = (run_dir / "events.jsonl").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["event"] == name]


# Budgets


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_per_class_budget_holds_exactly(tmp_path, strategy):
    result = run_synthetic(tmp_path, {"strategy": strategy, "budget_per_class": 3})
    assert [s["task"] for s in SEEN] == [0, 1]
    for seen, task_classes in zip(SEEN, [(0, 1), (2, 3)], strict=True):
        counts = {c: int((seen["labels"] == c).sum()) for c in task_classes}
        assert counts == {c: 3 for c in task_classes}, counts
    for event, seen in zip(events(result.run_dir), SEEN, strict=True):
        assert sorted(event["labeled"]) == sorted(seen["labeled"].tolist())
        assert sorted(i for r in event["chosen"] for i in r) == sorted(event["labeled"])


def test_a_class_with_fewer_images_than_its_budget_gives_all_of_them(tmp_path):
    run_synthetic(tmp_path, {"strategy": "entropy", "budget_per_class": 8}, ["dataset.train_per_class=6"])
    for seen in SEEN:
        assert sorted(seen["labeled"].tolist()) == list(range(12)), "every image of both classes is labeled"


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_per_task_budget_reads_no_label_before_acquisition(tmp_path, monkeypatch, strategy):
    opened: list[int] = []
    unseal_on_acquire(monkeypatch, opened)
    run_synthetic(tmp_path, {"strategy": strategy, "budget_per_task": 5}, ["callbacks=[seal-oracles, record-labels]"])
    assert opened == [0, 0], "the oracle was opened by the first acquisition, when the task had no label yet"
    assert [len(s["labeled"]) for s in SEEN] == [5, 5]


def test_per_class_budget_consults_the_oracle_before_acquisition(tmp_path, monkeypatch):
    unseal_on_acquire(monkeypatch, [])
    with pytest.raises(PluginError, match="raised OracleRead in its before_task hook"):
        run_synthetic(tmp_path, {"strategy": "random", "budget_per_class": 2}, ["callbacks=[seal-oracles]"])


def test_per_task_budget_larger_than_the_pool_labels_everything(tmp_path):
    run_synthetic(tmp_path, {"strategy": "margin", "budget_per_task": 500})
    assert [sorted(s["labeled"].tolist()) for s in SEEN] == [list(range(48))] * 2


# What the strategy sees and when


def test_strategy_choice_replaces_the_dataset_labels(tmp_path):
    run_synthetic(tmp_path, {"strategy": "highest-index-first", "budget_per_task": 4})
    assert [s["labeled"].tolist() for s in SEEN] == [[47, 46, 45, 44]] * 2
    shown = HighestIndexFirst.shown
    assert len(shown) == 48 and len(shown.labeled) == 0 and shown.features is None


def test_scoring_columns_are_the_task_classes_in_task_il_and_all_seen_classes_in_class_il(tmp_path):
    run_synthetic(tmp_path / "t", {"strategy": "highest-index-first", "budget_per_task": 4})
    assert HighestIndexFirst.shown.probs.shape == (48, 2)
    run_synthetic(
        tmp_path / "c", {"strategy": "highest-index-first", "budget_per_task": 4}, ["dataset.scenario=class-il"]
    )
    probs = HighestIndexFirst.shown.probs  # task 1 of a class-IL stream: classes 0-3 seen
    assert probs.shape == (48, 4) and torch.allclose(probs.sum(dim=1), torch.ones(48))


def test_scoring_is_batched_in_eval_mode_without_grad_and_done_before_the_method_starts(tmp_path):
    EVAL_CALLS.clear()
    METHOD_SAW.clear()
    SnapshotEvalCalls.snapshots = []
    run_synthetic(
        tmp_path,
        {"strategy": "entropy", "budget_per_class": 2},
        ["train.eval_batch_size=10", "callbacks=[snapshot-eval-calls]"],
        method="probe-ce",
    )
    assert len(SnapshotEvalCalls.snapshots) == 2
    for selection in SnapshotEvalCalls.snapshots:
        assert [size for size, _training, _grad in selection] == [10, 10, 10, 10, 8]
        assert not any(training or grad for _size, training, grad in selection)
    assert METHOD_SAW == [(4, True), (4, True)], "the method starts with the chosen labels, in train mode"


def test_random_choice_does_not_score_the_pool(tmp_path):
    EVAL_CALLS.clear()
    SnapshotEvalCalls.snapshots = []
    run_synthetic(
        tmp_path, {"strategy": "random", "budget_per_class": 2}, ["callbacks=[snapshot-eval-calls]"], method="probe-ce"
    )
    assert SnapshotEvalCalls.snapshots == [[], []]


# What the run records


def test_events_metrics_and_config_record_the_selection(tmp_path):
    result = run_synthetic(tmp_path, {"strategy": "qbc", "budget_per_class": 3, "committee_size": 4})
    chosen = events(result.run_dir)
    assert [e["task"] for e in chosen] == [0, 1]
    for event in chosen:
        assert event["strategy"] == "qbc" and event["seconds"] > 0
        assert [len(r) for r in event["chosen"]] == [4, 2], "two rounds: ceil(3/2) then the rest, per class"
        assert len(event["labeled"]) == 6 and sorted(event["labels_per_class"].values()) == [3, 3]
        assert 6 <= event["class_lookups"] <= 48
    summary = result.metrics["active_learning"]
    assert summary["strategy"] == "qbc" and summary["committee_size"] == 4 and summary["rounds"] == 2
    assert len(summary["selection_seconds"]) == 2
    assert summary["total_selection_seconds"] == pytest.approx(sum(e["seconds"] for e in chosen))
    config = (result.run_dir / "config.yaml").read_text()
    assert "active_learning:\n  strategy: qbc\n  budget_per_class: 3\n  budget_per_task: null\n" in config
    assert "disagreement: kl" in config


def test_without_the_section_the_dataset_labels_stay(tmp_path):
    SEEN.clear()
    result = testing.run_tiny(registry(), tmp_path, "er", ["callbacks=[record-labels]"])
    assert [len(s["labeled"]) for s in SEEN] == [8, 8]
    assert events(result.run_dir) == [] and "active_learning" not in result.metrics


def test_same_seed_same_choice_other_seed_differs(tmp_path):
    active = {"strategy": "qbc", "budget_per_task": 6}
    runs = [run_synthetic(tmp_path / name, active, [f"seed={seed}"]) for name, seed in (("a", 1), ("b", 1), ("c", 2))]
    labeled = [[e["labeled"] for e in events(r.run_dir)] for r in runs]
    assert labeled[0] == labeled[1] and labeled[0] != labeled[2]
    assert runs[0].metrics["accuracy"] == runs[1].metrics["accuracy"]


def test_a_strategy_breaking_its_contract_is_one_clear_error(tmp_path):
    with pytest.raises(SsclError, match="query strategy 'repeats-itself' returned 2 indices for a budget of 3"):
        run_synthetic(tmp_path, {"strategy": "repeats-itself", "budget_per_task": 3})


# Config errors (one line, exit code 2)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{strategy: entropy}", "set exactly one of budget_per_class and budget_per_task"),
        ("{strategy: entropy, budget_per_class: 5, budget_per_task: 5}", "set exactly one of budget_per_class"),
        ("{strategy: entropy, budget_per_class: 0}", "budget_per_class must be at least 1"),
        ("{strategy: entopy, budget_per_class: 5}", "did you mean 'entropy'?"),
        ("{budget_per_class: 5}", "active_learning.strategy: name a query strategy (entropy, least-confidence"),
        ("{strategy: qbc, budget_per_class: 5, commitee_size: 3}", "did you mean 'committee_size'?"),
        ("{strategy: qbc, budget_per_class: 5, committee_size: 1}", "committee_size must be at least 3"),
        ("{strategy: margin, budget_per_class: five}", "active_learning.budget_per_class: expected an integer"),
        ("entropy", "active_learning: expected"),
    ],
)
def test_bad_active_learning_settings(sscl, value, message):
    code, _out, err = sscl("run", "--set", f"active_learning={value}", "--set", "train.iters_per_task=1")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert message in err


def test_the_section_without_the_active_plugin_names_it_in_one_line(sscl, monkeypatch):
    monkeypatch.setenv("SSCL_LOAD_PLUGINS", "sscl-plugin-datasets,sscl-plugin-backbones,sscl-plugin-cl")
    code, _out, err = sscl("run", "--method", "er", "--set", "active_learning={strategy: entropy, budget_per_class: 5}")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "comes from the sscl-plugin-active distribution, which SSCL_LOAD_PLUGINS leaves out" in err


def test_a_second_driver_of_the_section_is_refused_naming_both():
    reg = registry()
    both = "active_learning driver is registered by both sscl-plugin-active and other-dist"
    with pytest.raises(SsclError, match=both):
        reg.add_active_learning(lambda section, registry: None, "other-dist")


def test_config_command_shows_the_resolved_section(sscl):
    code, out, _err = sscl("config", "--set", "active_learning={strategy: qbc, budget_per_task: 10}")
    assert code == 0
    assert "active_learning:\n  strategy: qbc\n  budget_per_class: null\n  budget_per_task: 10\n" in out


# Every strategy on digits with er, and with every installed semi-supervised method


def digits_run(tmp_path, method, active, extra=(), registry_=None):
    SEEN.clear()
    settings = ",".join(f"{k}: {v}" for k, v in active.items())
    config = load_config(
        overrides=[
            f"output_dir={tmp_path}",
            "device=cpu",
            "train.iters_per_task=3",
            f"active_learning={{{settings}}}",
            "callbacks=[record-labels]",
            *extra,
        ],
        components={"method": method},
    )
    reg = registry_ or load_registry()
    reg.add("callback", RecordLabels, "tests")
    reg.add("callback", SealOracles, "tests")
    return Trainer(config, reg).run()


def check_per_class(tmp_path, method, strategy):
    result = digits_run(tmp_path, method, {"strategy": strategy, "budget_per_class": 5})
    assert len(SEEN) == 5
    for seen, event in zip(SEEN, events(result.run_dir), strict=True):
        assert len(seen["labeled"]) == 10
        assert torch.bincount(seen["labels"]).tolist().count(5) == 2, "5 labels for each of the task's 2 classes"
        assert sorted(event["labeled"]) == sorted(seen["labeled"].tolist())
    assert result.metrics["tasks_done"] == 5


def check_per_class_and_per_task(tmp_path, monkeypatch, method, strategy):
    """Per-class budgets hold exactly; a per-task budget opens no oracle label before acquiring."""
    check_per_class(tmp_path / "per-class", method, strategy)
    opened: list[int] = []
    unseal_on_acquire(monkeypatch, opened)
    digits_run(
        tmp_path / "per-task",
        method,
        {"strategy": strategy, "budget_per_task": 10},
        ["callbacks=[seal-oracles, record-labels]", "dataset.num_tasks=2"],
    )
    assert opened == [0, 0] and [len(s["labeled"]) for s in SEEN] == [10, 10]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_with_er_on_digits(tmp_path, monkeypatch, strategy):
    check_per_class_and_per_task(tmp_path, monkeypatch, "er", strategy)


def semi_supervised_methods():
    """Each installed method that learns from unlabeled data itself (edgehml, ...) and er composed with each
    installed unlabeled loss for classification (er+fixmatch, ...)."""
    registry = load_registry()
    own = [name for name in registry.names("method") if registry.get("method", name).uses_unlabeled]
    losses = registry.names("unlabeled_loss")
    losses = [name for name in losses if "classification" in registry.get("unlabeled_loss", name).problems]
    return own + [f"er+{name}" for name in losses]


@pytest.mark.parametrize(
    "method",
    semi_supervised_methods() or [pytest.param(None, marks=pytest.mark.skip(reason="no unlabeled loss is installed"))],
)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_with_each_semi_supervised_method_on_digits(tmp_path, monkeypatch, method, strategy):
    check_per_class_and_per_task(tmp_path, monkeypatch, method, strategy)


class TaskWithExtras(Task):
    """A task whose pool also holds images without any label (oracle -1): the oracle can label none of them."""

    def labelable(self):
        return self.oracle_y >= 0


@component
class SyntheticWithExtras(testing.SyntheticDataset):
    """The synthetic stream with EXTRAS classless images appended to every task's pool."""

    name = "synthetic-extras"

    def build_stream(self, seed):
        stream = super().build_stream(seed)
        for t, task in enumerate(stream.tasks):
            extra = torch.full((EXTRAS, *task.train_x.shape[1:]), 128, dtype=torch.uint8)
            stream.tasks[t] = TaskWithExtras(
                id=task.id,
                classes=task.classes,
                train_x=torch.cat([extra, task.train_x]),
                test_x=task.test_x,
                test_y=task.test_y,
                oracle_y=torch.cat([torch.full((EXTRAS,), -1), task.oracle_y]),
                labeled_index=task.labeled_index + EXTRAS,
            )
        return stream


EXTRAS = 30


@pytest.mark.parametrize("budget", ["budget_per_class: 3", "budget_per_task: 60"])
@pytest.mark.parametrize("strategy", ["least-confidence", "random"])
def test_images_the_oracle_cannot_label_are_never_chosen(tmp_path, strategy, budget):
    SEEN.clear()
    sets = [f"active_learning={{strategy: {strategy}, {budget}}}", "callbacks=[record-labels]"]
    result = testing.run_tiny(registry(SyntheticWithExtras), tmp_path, "er", [*sets, "dataset=synthetic-extras"])
    assert result.metrics["tasks_done"] == 2
    for seen in SEEN:
        assert int(seen["labeled"].min()) >= EXTRAS and bool((seen["labels"] >= 0).all())
    if budget.startswith("budget_per_task"):
        assert [len(seen["labeled"]) for seen in SEEN] == [48, 48], "every labelable image, and only those"
