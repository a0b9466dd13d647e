"""Plots of a benchmark (optional extra ``sscl-plugin-bench[plots]``, matplotlib): accuracy-matrix heatmaps per run,
average accuracy after each task per method, iteration time per method and, for every numeric grid axis, mean
average accuracy against the axis. PNG files, no screen needed."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from sscl_plugin_bench.grid import axis_keys, axis_values, is_number, value_text
from sscl_plugin_bench.table import Run, row_title

PROTOCOL_TITLES = {"task-il": "task-IL", "class-il": "class-IL"}
MARKERS = "os^vDPX*<>"
"""Markers of the curves, so that methods stay apart where colours repeat or look alike."""


def _pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend, or ImportError with the install line."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'sscl-plugin-bench[plots]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt: Any, fig: Any, path: Path) -> Path:
    """Lay out, write and close a figure."""
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def accuracy_heatmap(run: Run, path: Path) -> Path:
    """The run's task-IL and class-IL accuracy matrices side by side, each cell annotated."""
    plt = _pyplot()
    protocols = [p for p in PROTOCOL_TITLES if p in run.metrics.get("accuracy", {})]
    fig, axes = plt.subplots(1, len(protocols), figsize=(4.2 * len(protocols), 3.8), squeeze=False)
    for ax, protocol in zip(axes[0], protocols, strict=True):
        matrix = run.metrics["accuracy"][protocol]
        values = [[float("nan") if v is None else v for v in row] for row in matrix]
        image = ax.imshow(values, vmin=0, vmax=100, cmap="viridis")
        for i, row in enumerate(matrix):
            for j, v in enumerate(row):
                if v is not None:
                    ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=7, color="white" if v < 60 else "k")
        ax.set_title(f"{PROTOCOL_TITLES[protocol]} accuracy (%)")
        ax.set_xlabel("evaluated on task")
        ax.set_ylabel("after training task")
        ax.set_xticks(range(len(values[0])), [str(j + 1) for j in range(len(values[0]))])
        ax.set_yticks(range(len(values)), [str(i + 1) for i in range(len(values))])
        fig.colorbar(image, ax=ax, fraction=0.046)
    fig.suptitle(f"{run.label}, seed {run.seed}")
    return _save(plt, fig, path)


def average_accuracy_curves(rows: list[dict[str, Any]], path: Path) -> Path:
    """Average accuracy over the tasks seen so far, after each task, one line per method (mean over seeds)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, protocol in zip(axes, PROTOCOL_TITLES, strict=True):
        for i, row in enumerate(rows):
            curves = row.get("average accuracy after each task", {}).get(protocol)
            if not curves:
                continue
            mean = [statistics.fmean(values) for values in zip(*curves, strict=False)]
            style = {"color": plt.cm.tab20(i % 20), "marker": MARKERS[i % len(MARKERS)]}
            ax.plot(range(1, len(mean) + 1), mean, label=row_title(row), **style)
        ax.set_title(f"{PROTOCOL_TITLES[protocol]}: average accuracy after each task")
        ax.set_xlabel("tasks trained")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel("average accuracy (%)")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return _save(plt, fig, path)


def iteration_times(rows: list[dict[str, Any]], path: Path) -> Path:
    """Median iteration time per method (mean over seeds, std as error bar), fastest at the top."""
    plt = _pyplot()
    ordered = sorted(rows, key=lambda row: statistics.fmean(row["median iter (ms)"]))
    means = [statistics.fmean(row["median iter (ms)"]) for row in ordered]
    stds = [statistics.stdev(row["median iter (ms)"]) if len(row["median iter (ms)"]) > 1 else 0 for row in ordered]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(ordered) + 1.2))
    ax.barh(range(len(ordered)), means, xerr=stds, color="tab:blue")
    ax.set_yticks(range(len(ordered)), [row_title(row) for row in ordered])
    ax.invert_yaxis()
    ax.set_xlabel("median iteration time (ms)")
    ax.grid(axis="x", alpha=0.3)
    return _save(plt, fig, path)


def accuracy_against_axis(rows: list[dict[str, Any]], key: str, path: Path) -> Path:
    """Task-IL and class-IL mean average accuracy (mean and std over seeds) against a numeric grid axis, a line
    per method and value of the other axes."""
    plt = _pyplot()
    series: dict[str, list[tuple[float, list[float], list[float]]]] = {}
    for row in rows:
        point = row.get("point", {})
        if key not in point or "task-IL MAA" not in row:
            continue
        others = ", ".join(f"{k}={value_text(v)}" for k, v in point.items() if k != key)
        name = f"{row['label']} ({others})" if others else row["label"]
        series.setdefault(name, []).append((point[key], row["task-IL MAA"], row["class-IL MAA"]))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, (index, title) in zip(axes, ((1, "task-IL"), (2, "class-IL")), strict=True):
        for i, (name, points) in enumerate(series.items()):
            points.sort(key=lambda p: p[0])
            values = [p[index] for p in points]
            means = [statistics.fmean(v) for v in values]
            stds = [statistics.stdev(v) if len(v) > 1 else 0.0 for v in values]
            style = {"color": plt.cm.tab10(i % 10), "marker": MARKERS[i % len(MARKERS)], "capsize": 3}
            ax.errorbar([p[0] for p in points], means, yerr=stds, label=name, **style)
        xs = sorted({p[0] for points in series.values() for p in points})
        if xs and xs[0] > 0 and xs[-1] >= 10 * xs[0]:
            ax.set_xscale("log")
        ax.set_xticks(xs, [value_text(x) for x in xs])
        ax.set_title(f"{title}, mean ± std over seeds")
        ax.set_xlabel(key)
        ax.set_ylabel("mean average accuracy (%)")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.suptitle(f"mean average accuracy against {key}")
    return _save(plt, fig, path)


def numeric_axes(rows: list[dict[str, Any]]) -> list[str]:
    """The grid axes with two or more values, all numbers."""
    points = [row.get("point", {}) for row in rows]
    keys = axis_keys(points)
    return [k for k in keys if len(axis_values(points, k)) > 1 and all(map(is_number, axis_values(points, k)))]


def write_plots(runs: list[Run], rows: list[dict[str, Any]], folder: Path) -> list[Path]:
    """Every plot of a report into ``folder``; ImportError (with the install line) without matplotlib."""
    _pyplot()
    folder.mkdir(parents=True, exist_ok=True)
    written = [
        accuracy_heatmap(run, folder / f"{run.path.name}-accuracy.png") for run in runs if "accuracy" in run.metrics
    ]
    if any("average accuracy after each task" in row for row in rows):
        written.append(average_accuracy_curves(rows, folder / "average-accuracy.png"))
    written.append(iteration_times(rows, folder / "iteration-time.png"))
    written += [accuracy_against_axis(rows, key, folder / f"accuracy-vs-{key}.png") for key in numeric_axes(rows)]
    return written
