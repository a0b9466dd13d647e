"""The RAM-budget study's table and plot, and what EdgeHML's pseudo-labeled RAM tier held.

Reads the runs of ``sscl bench benchmarks/ram-budget.yaml --out OUT``: labels ``FAMILY-S<budget>`` (e.g.
``edgehml-S50``, ``der+fixmatch-S50``), one run per seed. Per family and budget: the pool's RAM bytes (median
over seeds), task-IL and class-IL mean average accuracy (mean and std over seeds). For every EdgeHML run it
reads the ``pseudo_refresh`` events (logged at every redraw of M_U and at every task end) and reports, after
each task, |M_L|, |M_U|, the tasks M_U's samples come from, the share of M_U whose pseudo-label is right (the
true classes are read here only, from the dataset) and the distinct samples M_U held over the whole run.

    python benchmarks/ram_budget_report.py OUT [OUT...] [--rows FILE] [--plot PNG] [--json FILE]

Several OUT folders (benches of parts of the grid) are read as one study; a run name found twice counts once.
``--rows`` adds the table rows of earlier benches whose run directories are gone (the ``rows`` of a JSON file
this script wrote, e.g. ``benchmarks/reference/ram-budget-rows.json``); a point the runs measure replaces its row.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from sscl_core.config.run_config import read_yaml
from sscl_core.plugins.registry import load_registry
from sscl_plugin_bench.plots import MARKERS, _pyplot, _save

LABEL = re.compile(r"^(?P<family>.+)-S(?P<budget>\d+)-s(?P<seed>\d+)$")
"""A run directory's name: family, RAM budget in samples, seed."""

LINES = ("edgehml", "edgehml-no-disk", "der+fixmatch", "er")
"""The families drawn as lines (the design variants are drawn as points)."""


def load_runs(out: Path) -> list[dict[str, Any]]:
    """Every finished run of the study (all tasks done): family, budget, seed, metrics and run directory."""
    runs = []
    for path in sorted((out / "runs").glob("*/metrics.json")):
        match = LABEL.match(path.parent.name)
        metrics = json.loads(path.read_text())
        if match is None or metrics.get("tasks_done") != len(metrics["accuracy"]["task-il"][0]):
            continue
        runs.append(
            {
                "family": match["family"],
                "budget": int(match["budget"]),
                "seed": int(match["seed"]),
                "metrics": metrics,
                "dir": path.parent,
            }
        )
    return runs


def _mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def table_rows(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per family and budget."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        groups[run["family"], run["budget"]].append(run)
    rows = []
    for (family, budget), members in sorted(groups.items(), key=lambda item: (item[0][1], item[0][0])):
        summary = [m["metrics"]["summary"] for m in members]
        rows.append(
            {
                "family": family,
                "budget": budget,
                "seeds": sorted(m["seed"] for m in members),
                "pool_ram_bytes": statistics.median(m["metrics"]["memory"]["pool_ram_bytes"] for m in members),
                "pool_disk_bytes": statistics.median(m["metrics"]["memory"]["pool_disk_bytes"] for m in members),
                "task_il": _mean_std([s["task-il"]["mean_average_accuracy"] for s in summary]),
                "class_il": _mean_std([s["class-il"]["mean_average_accuracy"] for s in summary]),
                "class_il_per_seed": {
                    m["seed"]: m["metrics"]["summary"]["class-il"]["mean_average_accuracy"] for m in members
                },
            }
        )
    return rows


def merge_rows(earlier: list[dict[str, Any]], measured: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``earlier`` rows with each (family, budget) point that ``measured`` holds replaced, budgets ascending."""
    points = {(row["family"], row["budget"]): row for row in [*earlier, *measured]}
    return [points[key] for key in sorted(points, key=lambda key: (key[1], key[0]))]


def markdown(rows: list[dict[str, Any]]) -> str:
    """The table, budgets ascending."""
    lines = [
        "| S | method | pool RAM (KiB) | task-IL mean avg acc | class-IL mean avg acc | disk (KiB) | seeds |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        task, cls = row["task_il"], row["class_il"]
        lines.append(
            f"| {row['budget']} | {row['family']} | {row['pool_ram_bytes'] / 1024:.1f} | {task[0]:.2f} ± {task[1]:.2f} "
            f"| {cls[0]:.2f} ± {cls[1]:.2f} | {row['pool_disk_bytes'] / 1024:.0f} | {len(row['seeds'])} |"
        )
    return "\n".join(lines)


def plot(rows: list[dict[str, Any]], path: Path) -> Path:
    """Class-IL (left) and task-IL (right) mean average accuracy against pool RAM bytes, a line per method."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    families = list(dict.fromkeys(r["family"] for r in rows))
    for ax, key, title in ((axes[0], "class_il", "class-IL"), (axes[1], "task_il", "task-IL")):
        for i, family in enumerate(sorted(families, key=lambda f: (f not in LINES, f))):
            points = sorted((r["pool_ram_bytes"] / 1024, r[key][0]) for r in rows if r["family"] == family)
            style = {"marker": MARKERS[i % len(MARKERS)], "label": family}
            if family not in LINES:
                style["linestyle"] = ":"
            ax.plot([p[0] for p in points], [p[1] for p in points], **style)
        ax.set_xscale("log")
        ax.set_xlabel("memory-pool RAM (KiB, log scale)")
        ax.set_ylabel(f"{title} mean average accuracy (%)")
        ax.set_title(f"fmnist-5, {title}")
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=7)
    path.parent.mkdir(parents=True, exist_ok=True)
    return _save(plt, fig, path)


def _oracle(run: dict[str, Any], cache: dict[int, Any]) -> Any:
    """The run's stream (true classes of every training image), built once per seed."""
    seed = run["seed"]
    if seed not in cache:
        registry = load_registry()
        config = read_yaml(run["dir"] / "config.yaml")
        dataset = dict(config["dataset"])
        cls = registry.components["dataset"][dataset.pop("name")].cls
        cache[seed] = cls(**dataset).build_stream(seed)
    return cache[seed]


def pool_contents(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per EdgeHML run: after each task |M_L|, |M_U|, M_U per task and its pseudo-label accuracy, |D_U|; the
    number of redraws and of distinct samples M_U held over the run."""
    cache: dict[int, Any] = {}
    out = []
    for run in runs:
        if not run["family"].startswith("edgehml"):
            continue
        events = [json.loads(line) for line in (run["dir"] / "events.jsonl").read_text().splitlines()]
        refreshes = [e for e in events if e["event"] == "pseudo_refresh"]
        if not refreshes:
            continue
        stream = _oracle(run, cache)
        distinct: set[tuple[int, int]] = set()
        task_ends: dict[int, dict[str, Any]] = {}
        for event in refreshes:
            samples = event["pseudo_ram_samples"]
            distinct.update((t, i) for t, i, _y in samples)
            right = [y == int(stream.tasks[t].oracle_y[i]) for t, i, y in samples]
            task_ends[event["task"]] = {
                "task": event["task"],
                "labeled": event["labeled"],
                "pseudo_ram": event["pseudo_ram"],
                "pseudo_ram_per_task": event["pseudo_ram_per_task"],
                "pseudo_ram_per_class": event["pseudo_ram_per_class"],
                "pseudo_label_accuracy": statistics.fmean(right) if right else None,
                "disk": event["disk"],
            }
        out.append(
            {
                "family": run["family"],
                "budget": run["budget"],
                "seed": run["seed"],
                "refreshes": len(refreshes),
                "distinct_pseudo_ram": len(distinct),
                "task_ends": [task_ends[t] for t in sorted(task_ends)],
            }
        )
    return out


def _task_end(record: dict[str, Any]) -> str:
    tasks = ",".join(sorted(record["pseudo_ram_per_task"]))
    right = record["pseudo_label_accuracy"]
    return f"{record['labeled']}/{record['pseudo_ram']} ({tasks or '-'}; {'-' if right is None else f'{right:.0%}'})"


def main() -> None:
    """Print the table and the pool contents; write the plot and a JSON file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, nargs="+")
    parser.add_argument("--rows", type=Path, default=None, help="JSON file with the rows of earlier benches")
    parser.add_argument("--plot", type=Path, default=None, help="PNG path (default: the first OUT/ram-budget.png)")
    parser.add_argument("--json", type=Path, default=None, help="JSON path (default: the first OUT/ram-budget.json)")
    args = parser.parse_args()
    found = {run["dir"].name: run for out in args.out for run in load_runs(out)}
    runs = [found[name] for name in sorted(found)]
    earlier = json.loads(args.rows.read_text())["rows"] if args.rows else []
    rows = merge_rows(earlier, table_rows(runs))
    print(markdown(rows))
    contents = pool_contents(runs)
    print()
    print(
        "| S | method | seed | after each task: M_L / M_U (M_U's tasks; pseudo-labels right) | D_U | redraws "
        "| distinct in M_U |"
    )
    print("|---|---|---|---|---|---|---|")
    for c in sorted(contents, key=lambda c: (c["budget"], c["family"], c["seed"])):
        ends = "; ".join(_task_end(e) for e in c["task_ends"])
        disk = c["task_ends"][-1]["disk"] if c["task_ends"] else 0
        print(
            f"| {c['budget']} | {c['family']} | {c['seed']} | {ends} | {disk} | {c['refreshes']} "
            f"| {c['distinct_pseudo_ram']} |"
        )
    plot(rows, args.plot or args.out[0] / "ram-budget.png")
    json_path = args.json or args.out[0] / "ram-budget.json"
    json_path.write_text(json.dumps({"rows": rows, "contents": contents}, indent=1))


if __name__ == "__main__":
    main()
