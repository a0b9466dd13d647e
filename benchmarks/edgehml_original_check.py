"""Does ``edgehml-original`` still give the accuracy matrices EdgeHML's defaults gave before the speed levers?

``benchmarks/reference/edgehml-original-matrices.json`` holds the matrices of three runs made with the code of
commit c42c52d (one torch thread): ``sscl run --method edgehml`` (digits), and ``sscl run edgehml-fmnist-5
--set seed=0`` with the preset's warm-up 0.6 and with the method's default 0.2. This script repeats them with
today's presets, ``edgehml-original`` and ``edgehml-fmnist-5-original`` (plus ``method.warmup=0.2``), on one
torch thread, and says per run whether every entry of both matrices is the same float.

    python benchmarks/edgehml_original_check.py OUT     (a run whose OUT/KEY/metrics.json exists is reused)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

import torch

from sscl_core import cli

REFERENCE = Path(__file__).parent / "reference" / "edgehml-original-matrices.json"
"""The matrices recorded before the change."""

RUNS = {
    "digits": ["edgehml-original"],
    "fmnist-5-warmup-0.6": ["edgehml-fmnist-5-original", "--set", "seed=0"],
    "fmnist-5-warmup-0.2": ["edgehml-fmnist-5-original", "--set", "seed=0", "--set", "method.warmup=0.2"],
}
"""Today's command line (after ``sscl run``) of each recorded run."""


def run(key: str, out: Path) -> dict:
    """The metrics of one run (trained now unless OUT/KEY holds it)."""
    metrics = out / key / "metrics.json"
    if not metrics.is_file():
        args = ["run", *RUNS[key], "--set", f"output_dir={out}", "--set", f"run_name={key}"]
        with (out / f"{key}.log").open("w") as log, contextlib.redirect_stdout(log):
            if cli.main(args) != 0:
                raise SystemExit(f"{key}: sscl run failed, see {out / f'{key}.log'}")
    return json.loads(metrics.read_text())


def main() -> int:
    """Run or reuse each run, compare, print one line per run; exit 1 if any matrix differs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--only", nargs="*", choices=sorted(RUNS), help="check these runs only")
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    reference = json.loads(REFERENCE.read_text())["runs"]
    same = True
    for key in args.only or RUNS:
        metrics = run(key, args.out)
        equal = metrics["accuracy"] == reference[key]["accuracy"]
        same &= equal
        threads = metrics["machine"]["torch_threads"]
        print(f"{key}: {'identical' if equal else 'DIFFERENT'} accuracy matrices ({threads} torch thread(s))")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
