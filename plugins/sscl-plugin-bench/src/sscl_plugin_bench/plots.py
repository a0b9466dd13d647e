"""Plots of a benchmark (optional extra ``sscl-plugin-bench[plots]``, matplotlib): accuracy-matrix heatmaps per run,
average accuracy after each task per method, and iteration time per method. PNG files, no screen needed."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from sscl_plugin_bench.table import Run

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
            ax.plot(range(1, len(mean) + 1), mean, label=row["label"], **style)
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
    ax.set_yticks(range(len(ordered)), [row["label"] for row in ordered])
    ax.invert_yaxis()
    ax.set_xlabel("median iteration time (ms)")
    ax.grid(axis="x", alpha=0.3)
    return _save(plt, fig, path)


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
    return written
