"""Kill a benchmark run with SIGKILL in the middle of a task, resume it, and compare it with the uninterrupted run.

For each seed: ``sscl run ARGS`` uninterrupted (``OUT/reference-s<seed>``), the same run killed from outside
once its events.jsonl shows iteration ``--kill-iter`` of task ``--kill-task`` (0-based), then
``sscl run --resume`` on the killed directory. Prints one Markdown row per seed: whether both accuracy matrices
are equal bit for bit, and the cost of checkpoints (seconds per checkpoint, file size) next to the training time
per task.

    python benchmarks/kill_resume.py OUT --seeds 0 1 2 -- --dataset fashion-mnist --method er \\
        --set train.iters_per_task=500
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def sscl(*args: str) -> list[str]:
    """The command line of the ``sscl`` of this interpreter."""
    return [sys.executable, "-m", "sscl_core.cli", *args]


def events(run_dir: Path) -> list[dict[str, Any]]:
    """The complete lines of a run's events.jsonl."""
    path = run_dir / "events.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines(keepends=True) if line.endswith("\n")]


def reached(run_dir: Path, task: int, iteration: int) -> bool:
    """Whether the run logged an iteration at or past ``iteration`` of ``task``."""
    return any(e["event"] == "iter" and e["task"] == task and e["iter"] >= iteration for e in events(run_dir))


def run_killed(args: list[str], run_dir: Path, task: int, iteration: int) -> None:
    """Start the run and SIGKILL it once it reaches the given iteration."""
    process = subprocess.Popen(sscl("run", *args), stdout=subprocess.DEVNULL)
    while process.poll() is None:
        if reached(run_dir, task, iteration):
            process.send_signal(signal.SIGKILL)
            process.wait()
            return
        time.sleep(0.05)
    raise SystemExit(f"error: the run ended (exit {process.returncode}) before task {task} iteration {iteration}")


def checkpoint_cost(run_dir: Path) -> tuple[float, int]:
    """Median seconds per checkpoint (over both processes of the run) and the size of the last checkpoint file."""
    seconds = [e["seconds"] for e in events(run_dir) if e["event"] == "checkpoint"]
    size = max(p.stat().st_size for p in (run_dir / "checkpoints").glob("*.pt"))
    return statistics.median(seconds), size


def main() -> None:
    """Run the comparison for every seed and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--kill-task", type=int, default=2, help="0-based task to kill in (default 2: task 3)")
    parser.add_argument("--kill-iter", type=int, default=250, help="kill once this iteration is logged")
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    options, run_args = parser.parse_args(argv[:split]), argv[split + 1 :]
    print("| seed | task-IL R equal | class-IL R equal | train s/task | checkpoint s (median) | checkpoint MiB |")
    print("|---|---|---|---|---|---|")
    for seed in options.seeds:
        base = [*run_args, "--set", f"seed={seed}", "--set", f"output_dir={options.out}", "--set", "train.log_every=10"]
        subprocess.run(
            sscl("run", *base, "--set", f"run_name=reference-s{seed}"), check=True, stdout=subprocess.DEVNULL
        )
        killed_dir = options.out / f"killed-s{seed}"
        run_killed([*base, "--set", f"run_name=killed-s{seed}"], killed_dir, options.kill_task, options.kill_iter)
        subprocess.run(sscl("run", "--resume", str(killed_dir)), check=True, stdout=subprocess.DEVNULL)
        reference = json.loads((options.out / f"reference-s{seed}" / "metrics.json").read_text())
        resumed = json.loads((killed_dir / "metrics.json").read_text())
        same = {p: reference["accuracy"][p] == resumed["accuracy"][p] for p in ("task-il", "class-il")}
        seconds, size = checkpoint_cost(options.out / f"reference-s{seed}")
        train = statistics.fmean(reference["timing"]["task_train_seconds"])
        print(
            f"| {seed} | {'yes' if same['task-il'] else 'NO'} | {'yes' if same['class-il'] else 'NO'} | {train:.1f} "
            f"| {seconds:.3f} | {size / 2**20:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
