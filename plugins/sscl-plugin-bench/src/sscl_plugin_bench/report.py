"""``sscl report``: the benchmark table, its raw numbers and the plots, written from run directories."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import attrs

from sscl_core.run.rundir import write_atomic
from sscl_plugin_bench.plots import write_plots
from sscl_plugin_bench.table import build_rows, load_runs, report_json, report_markdown

RESULTS_MARKDOWN = "results.md"
RESULTS_JSON = "results.json"
PLOTS_DIR = "plots"


@attrs.define
class Report:
    """What a report wrote: the Markdown text, its files and the plots (or why there are none)."""

    markdown: str
    markdown_file: Path
    json_file: Path
    plots: list[Path]
    plots_skipped: str | None = None


def write_report(
    paths: Iterable[Path],
    out_dir: Path,
    references: Iterable[str] = ("finetune", "der+fixmatch"),
    title: str = "Benchmark",
) -> Report:
    """Read the runs under ``paths`` and write results.md, results.json and plots/ into ``out_dir``.

    Without matplotlib the tables are still written and ``plots_skipped`` says how to get the plots.
    """
    runs = load_runs(paths)
    rows = build_rows(runs, references)
    text = report_markdown(rows, runs, title)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(out_dir / RESULTS_MARKDOWN, text)
    write_atomic(out_dir / RESULTS_JSON, json.dumps(report_json(rows, runs), indent=1))
    try:
        plots, skipped = write_plots(runs, rows, out_dir / PLOTS_DIR), None
    except ImportError as missing:
        plots, skipped = [], str(missing)
    return Report(text, out_dir / RESULTS_MARKDOWN, out_dir / RESULTS_JSON, plots, skipped)
