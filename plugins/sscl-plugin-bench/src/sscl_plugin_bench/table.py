"""Run directories into the benchmark table: one row per method label and grid point, mean and std over seeds.

A run's label is its directory name without the trailing ``-s<seed>``, without the grid point
(``,key=value`` parts, see :mod:`~sscl_plugin_bench.grid`) and without the leading timestamp of default run
names (``20261202-101500-digits-er-s0`` is label ``digits-er``); ``sscl bench`` names its runs
``<label>[,key=value...]-s<seed>``. The seed is that suffix's number (a repeat index, for repeated runs of one
seed), else the run's config seed. Ratios (iteration time, train time) are taken per seed to the reference
label's run of the same seed and grid point, then their median over seeds is shown. With grid axes, the report
has a column per axis and, per axis, a table for each of its values.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

from sscl_core.api.errors import SsclError
from sscl_core.run.rundir import METRICS_FILE, read_metrics
from sscl_plugin_bench.grid import axis_keys, axis_values, point_key, split_name, value_text

SEED_SUFFIX = re.compile(r"-s(\d+)$")
TIMESTAMP_PREFIX = re.compile(r"^\d{8}-\d{6}-")
ACCURACY_COLUMNS = (
    ("task-IL MAA", "task-il", "mean_average_accuracy"),
    ("task-IL final", "task-il", "final_average_accuracy"),
    ("task-IL forgetting", "task-il", "average_forgetting"),
    ("class-IL MAA", "class-il", "mean_average_accuracy"),
    ("class-IL final", "class-il", "final_average_accuracy"),
    ("class-IL forgetting", "class-il", "average_forgetting"),
)
"""Accuracy table columns: header, protocol and summary key of metrics.json."""
SUMMARY_COLUMNS = (
    ("MAA", "mean_average_accuracy"),
    ("final", "final_average_accuracy"),
    ("forgetting", "average_forgetting"),
)
"""Score columns of another evaluator's metrics (``<metric> MAA``, ...): suffix and summary key."""
TIMING_KEYS = ("median_iteration_seconds", "mean_iteration_seconds", "total_train_seconds")
"""What every run's metrics.json has under ``timing`` (the cost table needs it)."""


@attrs.define
class Run:
    """One run directory's label, seed, metrics and grid point."""

    label: str
    seed: int
    path: Path
    metrics: dict[str, Any]
    point: dict[str, Any] = attrs.field(factory=dict)


def run_label(path: Path) -> str:
    """The method label a run directory's name gives (see the module docstring)."""
    return run_name_parts(path)[0]


def run_name_parts(path: Path) -> tuple[str, dict[str, Any]]:
    """The method label and the grid point a run directory's name gives."""
    return split_name(TIMESTAMP_PREFIX.sub("", SEED_SUFFIX.sub("", path.name)))


def find_runs(paths: Iterable[Path]) -> list[Path]:
    """Every run directory (one holding metrics.json) given directly or found below a given folder."""
    runs: list[Path] = []
    for path in map(Path, paths):
        if (path / METRICS_FILE).is_file():
            runs.append(path)
        elif path.is_dir():
            runs.extend(sorted({p.parent for p in path.rglob(METRICS_FILE)}))
        else:
            raise SsclError(f"{path} is not a run directory or a folder of them: check the path")
    return list(dict.fromkeys(runs))


def load_runs(paths: Iterable[Path]) -> list[Run]:
    """The runs under ``paths``; one clear error for unreadable metrics or two runs of one label and seed."""
    runs, seen = [], {}
    for path in find_runs(paths):
        try:
            metrics = read_metrics(path)
            suffix = SEED_SUFFIX.search(path.name)
            seed = int(suffix[1]) if suffix else int(metrics["seed"])
            for key in TIMING_KEYS:
                float(metrics["timing"][key])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise SsclError(
                f"{path / METRICS_FILE} is not the metrics file of an sscl run (bad or missing {error}): "
                "leave that folder out of the report"
            ) from None
        label, point = run_name_parts(path)
        run = Run(label=label, seed=seed, path=path, metrics=metrics, point=point)
        key = (run.label, point_key(point), run.seed)
        if key in seen:
            at = f" at {point_key(point)}" if point else ""
            raise SsclError(
                f"two runs of '{run.label}'{at} with seed {run.seed}: {seen[key]} and {path}; report one of them"
            )
        seen[key] = path
        runs.append(run)
    if not runs:
        raise SsclError("no run directories (folders with metrics.json) found: pass run directories or their folder")
    return runs


def _ratio(runs: dict[int, Run], reference: dict[int, Run], key: str) -> float | None:
    ratios = [
        runs[s].metrics["timing"][key] / reference[s].metrics["timing"][key]
        for s in runs
        if s in reference and reference[s].metrics["timing"][key] > 0
    ]
    return statistics.median(ratios) if ratios else None


def score_columns(metrics: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The score columns of a run: the accuracy columns for classification's evaluator, else ``<metric> MAA``,
    ``<metric> final`` and ``<metric> forgetting`` for each metric the run's evaluator names."""
    names = metrics.get("evaluation", {}).get("metrics", ["task-il", "class-il"])
    if set(names) == {"task-il", "class-il"}:
        return list(ACCURACY_COLUMNS)
    return [(f"{name} {suffix}", name, key) for name in names for suffix, key in SUMMARY_COLUMNS]


def build_rows(runs: list[Run], references: Iterable[str] = ("finetune", "der+fixmatch")) -> list[dict[str, Any]]:
    """One row per label and grid point (in first-seen order): per-seed values as lists, ratios as medians over
    seeds. The hand-written loop's runs have no row: :func:`framework_overhead` reports them."""
    groups: dict[tuple[str, str], dict[int, Run]] = {}
    for run in runs:
        if "framework_overhead" not in run.metrics:
            groups.setdefault((run.label, point_key(run.point)), {})[run.seed] = run
    rows = []
    for (label, at), by_seed in groups.items():
        seeds = sorted(by_seed)
        metrics = [by_seed[s].metrics for s in seeds]
        point = by_seed[seeds[0]].point
        row: dict[str, Any] = {"label": label, "point": point, "seeds": seeds}
        row["runs"] = [str(by_seed[s].path) for s in seeds]
        if all("summary" in m for m in metrics):
            columns = score_columns(metrics[0])
            for column, protocol, key in columns:
                row[column] = [m["summary"][protocol][key] for m in metrics]
            result_key = metrics[0].get("evaluation", {}).get("key", "accuracy")
            row["average accuracy after each task"] = {
                protocol: [
                    [statistics.fmean(r[: i + 1]) for i, r in enumerate(m[result_key][protocol])] for m in metrics
                ]
                for protocol in dict.fromkeys(protocol for _, protocol, _ in columns)
            }
        timing = [m["timing"] for m in metrics]
        row["median iter (ms)"] = [1000 * t["median_iteration_seconds"] for t in timing]
        row["mean iter (ms)"] = [1000 * t["mean_iteration_seconds"] for t in timing]
        row["train (s)"] = [t["total_train_seconds"] for t in timing]
        if all("data_share" in t for t in timing):
            row["data share"] = [t["data_share"] for t in timing]
        for reference in references:
            if (reference, at) in groups:
                row[f"iter / {reference}"] = _ratio(by_seed, groups[reference, at], "median_iteration_seconds")
                row[f"train / {reference}"] = _ratio(by_seed, groups[reference, at], "total_train_seconds")
        if all("memory" in m for m in metrics):
            row["peak RSS (MiB)"] = [m["memory"]["peak_rss_bytes"] / 2**20 for m in metrics]
            row["pool RAM (KiB)"] = [m["memory"]["pool_ram_bytes"] / 1024 for m in metrics]
            row["pool disk (KiB)"] = [m["memory"]["pool_disk_bytes"] / 1024 for m in metrics]
        if all("active_learning" in m for m in metrics):
            row["selection (s)"] = [m["active_learning"]["total_selection_seconds"] for m in metrics]
        rows.append(row)
    return rows


def framework_overhead(runs: list[Run]) -> dict[str, Any] | None:
    """The framework's finetune over the hand-written loop, median iteration time: per seed (each the median
    over the rounds the two alternated in one process, see :mod:`sscl_plugin_bench.handwritten`) and the median
    over seeds; None without a hand-written run."""
    measured = {r.seed: r.metrics["framework_overhead"] for r in runs if "framework_overhead" in r.metrics}
    if not measured:
        return None
    return {
        "median": statistics.median(m["ratio"] for m in measured.values()),
        "per_seed": {seed: m["ratio"] for seed, m in sorted(measured.items())},
        "framework_ms": statistics.median(
            1000 * t for m in measured.values() for t in m["framework_median_iteration_seconds"]
        ),
        "handwritten_ms": statistics.median(
            1000 * t for m in measured.values() for t in m["handwritten_median_iteration_seconds"]
        ),
        "same_weights": all(m["same_weights"] for m in measured.values()),
    }


def machine_line(runs: list[Run]) -> str:
    """The machine the runs ran on (of the first run that recorded one), as one line."""
    for run in runs:
        m = run.metrics.get("machine")
        if m:
            return (
                f"{m['cpus']} CPUs ({m['torch_threads']} torch threads per run), torch {m['torch']}, "
                f"torchvision {m['torchvision']}, device {m['device']}, Python {m['python']}, {m['platform']}"
            )
    return "unknown machine"


def _cell(column: str, value: Any) -> str:
    if isinstance(value, list):
        if not value:
            return "-"
        if column == "data share":
            return f"{statistics.fmean(value):.1%}"
        std = statistics.stdev(value) if len(value) > 1 else 0.0
        return f"{round(statistics.fmean(value), 2) + 0.0:.2f} ± {std:.2f}"
    if isinstance(value, float):
        return f"{value:.2f}"
    return "-"


def markdown_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """The rows as a Markdown table over ``columns`` (a column no row has is left out)."""
    columns = [c for c in columns if any(c in row for row in rows)]
    axes = axis_keys(row.get("point", {}) for row in rows)
    heads = ["method", *axes, "seeds", *columns]
    lines = ["| " + " | ".join(heads) + " |", "|---" * len(heads) + "|"]
    for row in rows:
        point = row.get("point", {})
        cells = [row["label"], *(value_text(point[k]) if k in point else "-" for k in axes)]
        cells += [",".join(map(str, row["seeds"])), *(_cell(c, row.get(c)) for c in columns)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def row_title(row: dict[str, Any]) -> str:
    """A row's label with its grid point, e.g. ``er (memory_pool.size=200)``."""
    point = row.get("point", {})
    return f"{row['label']} ({', '.join(f'{k}={value_text(v)}' for k, v in point.items())})" if point else row["label"]


def by_axis_markdown(rows: list[dict[str, Any]], columns: list[str]) -> list[str]:
    """Per grid axis, a section with a table (over ``columns``) for each of its values; none without axes."""
    parts = []
    points = [row.get("point", {}) for row in rows]
    for key in axis_keys(points):
        parts += [f"## By {key}", ""]
        for value in axis_values(points, key):
            chosen = [row for row in rows if key in row.get("point", {}) and row["point"][key] == value]
            parts += [f"### {key} = {value_text(value)}", "", markdown_table(chosen, columns), ""]
    return parts


def report_markdown(rows: list[dict[str, Any]], runs: list[Run], title: str) -> str:
    """The whole report: machine line, accuracy table, cost table and the framework overhead."""
    classification = [c for c, _, _ in ACCURACY_COLUMNS]
    suffixes = tuple(f" {suffix}" for suffix, _ in SUMMARY_COLUMNS)
    others = [c for row in rows for c in row if c.endswith(suffixes) and c not in classification]
    accuracy = classification if not others else list(dict.fromkeys(others))
    cost = [c for row in rows for c in row if c not in accuracy and c not in ("label", "point", "seeds", "runs")]
    cost = [c for c in dict.fromkeys(cost) if c != "average accuracy after each task"]
    with_accuracy = [row for row in rows if accuracy[0] in row]
    heading = "Accuracy (%)" if not others else "Scores"
    parts = [f"# {title}", "", f"Machine: {machine_line(runs)}.", ""]
    parts += [f"## {heading}, mean ± std over seeds", "", markdown_table(with_accuracy, accuracy), ""]
    parts += ["## Cost (ratios: median over seeds of the per-seed ratio)", "", markdown_table(rows, cost), ""]
    parts += by_axis_markdown(with_accuracy, accuracy)
    overhead = framework_overhead(runs)
    if overhead is not None:
        seeds = ", ".join(f"seed {s}: {r:.3f}" for s, r in overhead["per_seed"].items())
        same = "identical" if overhead["same_weights"] else "DIFFERENT"
        parts += [
            f"Framework overhead (sscl finetune / hand-written loop, median iteration time, alternating in one "
            f"process): {overhead['median']:.3f} ({seeds}; {overhead['framework_ms']:.2f} ms against "
            f"{overhead['handwritten_ms']:.2f} ms); final weights of the two loops: {same}.",
            "",
        ]
    return "\n".join(parts)


def report_json(rows: list[dict[str, Any]], runs: list[Run]) -> dict[str, Any]:
    """Everything of the report as plain data."""
    return {"machine": machine_line(runs), "rows": rows, "framework_overhead": framework_overhead(runs)}
