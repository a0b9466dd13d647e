"""fmnist-5 from an image folder gives the IDX reader's accuracy matrices (same seed, one thread).

``python benchmarks/fmnist_image_folder.py [DIR] [--iters N] [--method M]`` writes Fashion-MNIST's images as
grey PNGs into ``DIR/train/<label>/<index>.png`` and ``DIR/test/<label>/<index>.png`` (index: the image's
position in its IDX file, zero-padded, so the folder's name order is the IDX order), then runs ``sscl run
fmnist-5`` with ``M`` (default er) at seed 0 on one thread twice: from the IDX files (dataset fashion-mnist) and
from the folder (dataset image-folder with the settings that make the two streams the same: one channel, the
separate test root, fashion-mnist's normalization constants, its flip and zero padding). Exits 0 when the
accuracy matrices are identical. ``--iters`` shortens the schedule (the protocol's is 500 iterations per task).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from torchvision.io import write_png

from sscl_plugin_datasets.idx import read_idx
from sscl_plugin_datasets.mnist import IDX_FILES, FashionMnist

sys.path.insert(0, str(Path(__file__).parent))
from same_numbers import run_matrices  # noqa: E402

IDX_ROOT = Path(FashionMnist().root)
"""Where the Debian package dataset-fashion-mnist puts the four IDX files."""


def write_pngs(out: Path) -> None:
    """Every training and test image as ``out/{train,test}/<label>/<index:05d>.png`` (skipped when present)."""
    for part, (images_name, labels_name) in (("train", IDX_FILES[:2]), ("test", IDX_FILES[2:])):
        done = out / part / ".complete"
        if done.exists():
            continue
        images = read_idx(IDX_ROOT / f"{images_name}.gz", 3)
        labels = read_idx(IDX_ROOT / f"{labels_name}.gz", 1).tolist()
        for label in set(labels):
            (out / part / str(label)).mkdir(parents=True, exist_ok=True)
        for index, (image, label) in enumerate(zip(images, labels, strict=True)):
            write_png(image.unsqueeze(0).contiguous(), str(out / part / str(label) / f"{index:05d}.png"))
        done.write_text("")


def main() -> int:
    """Write the folders, run both streams, compare their matrices and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", nargs="?", type=Path)
    parser.add_argument("--iters", type=int, default=500)
    parser.add_argument("--method", default="er")
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="fmnist-image-folder-"))
    write_pngs(work)
    fmnist = FashionMnist()
    folder = {
        "name": "image-folder",
        "root": str(work / "train"),
        "test_root": str(work / "test"),
        "cache_dir": str(work / "cache"),
        "channels": 1,
        "image_mean": list(fmnist.image_mean),
        "image_std": list(fmnist.image_std),
        "flip": fmnist.flip,
        "pad_mode": fmnist.pad_mode,
    }
    protocol = ["fmnist-5", "--method", args.method, "--set", f"train.iters_per_task={args.iters}"]
    found = {}
    for label, dataset in (("idx", {}), ("image-folder", folder)):
        settings = [a for key, value in dataset.items() for a in ("--set", f"dataset.{key}={json.dumps(value)}")]
        shutil.rmtree(work / "runs" / label, ignore_errors=True)
        found[label] = run_matrices([*protocol, *settings], work / "runs" / label)
    same = found["idx"] == found["image-folder"]
    print(json.dumps({"method": args.method, "iters_per_task": args.iters, "identical": same, **found}, indent=1))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
