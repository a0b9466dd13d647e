"""Summarize run directories into a Markdown table: one row per label, mean ± std over seeds.

A run's label is its run-directory name without the trailing ``-s<seed>`` (name runs ``<label>-s<seed>``
with ``--set run_name=...``). Ratios of median iteration time are taken per seed against the reference
label's run of the same seed, then their median over seeds is shown. Runs with active learning add the total
time their selections took (scoring, ranking, acquisition; per run, summed over tasks).

    python benchmarks/summarize.py RUNS_DIR_OR_RUN_DIRS... [--reference finetune] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

SEED_SUFFIX = re.compile(r"^(?P<label>.+)-s(?P<seed>\d+)$")
ACCURACY_COLUMNS = (
    ("task-IL MAA", "task-il", "mean_average_accuracy"),
    ("task-IL forgetting", "task-il", "average_forgetting"),
    ("class-IL MAA", "class-il", "mean_average_accuracy"),
    ("class-IL final", "class-il", "final_average_accuracy"),
    ("class-IL forgetting", "class-il", "average_forgetting"),
)


def find_runs(paths: list[Path]) -> list[Path]:
    """Every run directory (one holding metrics.json) given directly or one level below a given folder."""
    runs = []
    for path in paths:
        if (path / "metrics.json").is_file():
            runs.append(path)
        else:
            runs.extend(sorted(p.parent for p in path.glob("*/metrics.json")))
    return runs


def load(runs: list[Path]) -> dict[str, dict[int, dict[str, Any]]]:
    """Metrics by label, then by seed."""
    table: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    for run in runs:
        match = SEED_SUFFIX.match(run.name)
        if match is None:
            raise SystemExit(f"error: run directory {run.name!r} is not named <label>-s<seed>")
        table[match["label"]][int(match["seed"])] = json.loads((run / "metrics.json").read_text())
    return table


def mean_std(values: list[float]) -> str:
    """``mean ± std`` (sample std; 0 for a single value)."""
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.2f} ± {std:.2f}"


def rows(table: dict[str, dict[int, dict[str, Any]]], reference: str | None) -> list[dict[str, Any]]:
    """One row of aggregated numbers per label, in first-seen order."""
    out = []
    for label, by_seed in table.items():
        row: dict[str, Any] = {"label": label, "seeds": sorted(by_seed)}
        for column, protocol, key in ACCURACY_COLUMNS:
            row[column] = [by_seed[s]["summary"][protocol][key] for s in row["seeds"]]
        row["median iter (ms)"] = [1000 * by_seed[s]["timing"]["median_iteration_seconds"] for s in row["seeds"]]
        row["data share"] = [by_seed[s]["timing"]["data_share"] for s in row["seeds"]]
        row["train (s)"] = [by_seed[s]["timing"]["total_train_seconds"] for s in row["seeds"]]
        row["peak RSS (MiB)"] = [by_seed[s]["memory"]["peak_rss_bytes"] / 2**20 for s in row["seeds"]]
        if all("active_learning" in by_seed[s] for s in row["seeds"]):
            row["selection (s)"] = [by_seed[s]["active_learning"]["total_selection_seconds"] for s in row["seeds"]]
        if reference is not None and reference in table:
            ref = table[reference]
            ratios = [
                by_seed[s]["timing"]["median_iteration_seconds"] / ref[s]["timing"]["median_iteration_seconds"]
                for s in row["seeds"]
                if s in ref
            ]
            row[f"iter ratio to {reference}"] = statistics.median(ratios) if ratios else None
        out.append(row)
    return out


def markdown(table_rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table."""
    columns = [c for c in dict.fromkeys(k for row in table_rows for k in row) if c not in ("label", "seeds")]
    lines = ["| method | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for row in table_rows:
        cells = []
        for c in columns:
            value = row.get(c)
            if isinstance(value, list):
                cells.append(mean_std(value) if c != "data share" else f"{statistics.fmean(value):.1%}")
            elif isinstance(value, float):
                cells.append(f"{value:.2f}")
            else:
                cells.append("-")
        lines.append(f"| {row['label']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the table; optionally write the aggregated numbers as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--reference", default="finetune", help="label the iteration-time ratio is taken to")
    parser.add_argument("--json", type=Path, help="also write the aggregated rows here")
    args = parser.parse_args(argv)
    table_rows = rows(load(find_runs(args.paths)), args.reference)
    if not table_rows:
        raise SystemExit("error: no run directories with metrics.json found")
    print(markdown(table_rows))
    if args.json:
        args.json.write_text(json.dumps(table_rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
