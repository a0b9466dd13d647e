"""Record or compare the accuracy matrices of a few reference runs (a core change must leave them as they were).

``python benchmarks/same_numbers.py record FILE`` runs digits er and der+fixmatch and fmnist-5 er and edgehml
(seed 0, one torch thread each) and writes their matrices to FILE with this machine's kernels fingerprint;
``compare FILE`` runs them again and exits 1 when any matrix differs. A file recorded on a machine whose float
kernels differ (another fingerprint) cannot be compared: record the commit before the change here first (exit 2).
Needs Fashion-MNIST (``apt-get install -y dataset-fashion-mnist``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from sscl_core.testing import kernels_fingerprint

RUNS = {
    "digits-er": ["--method", "er"],
    "digits-der+fixmatch": ["--method", "der+fixmatch"],
    "fmnist5-er": ["fmnist-5", "--method", "er"],
    "fmnist5-edgehml": ["edgehml-fmnist-5-original"],
}
"""Each reference run: its name and the ``sscl run`` arguments."""


def run_matrices(args: list[str], out: Path) -> dict:
    """Run ``sscl run ARGS`` on one torch thread and return the accuracy matrices of its metrics.json."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = ["sscl", "run", *args, "--set", "seed=0", "--set", f"output_dir={out}"]
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    (metrics,) = out.glob("*/metrics.json")
    return json.loads(metrics.read_text())["accuracy"]


def main() -> int:
    """Record or compare, as the module docstring says."""
    mode, path = sys.argv[1], Path(sys.argv[2])
    only = sys.argv[3:] or list(RUNS)
    here = kernels_fingerprint()
    if mode == "compare" and json.loads(path.read_text())["fingerprint"] != here:
        print(f"{path} was recorded on other float kernels than these ({here}): record the commit before yours here")
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        found = {name: run_matrices(RUNS[name], Path(tmp) / name) for name in only}
    if mode == "record":
        path.write_text(json.dumps({"fingerprint": here, "runs": found}, indent=1))
        return 0
    expected = json.loads(path.read_text())["runs"]
    differ = [name for name in only if expected[name] != found[name]]
    for name in only:
        print(f"{name}: {'DIFFERS' if name in differ else 'identical'}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
