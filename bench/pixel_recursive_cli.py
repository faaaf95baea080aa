"""Pixel Recursive SR the way users run it: the whole CLI (process start to files written), not the kernel.

    .venv/bin/python bench/pixel_recursive_cli.py [--faces 1 8 64] [--samples 4] [--busy]

Makes N 8x8 faces (from ../shared/data/faces, test split), runs `srdesk-cli enhance ... --samples S`
with --threads 1 and --threads 2 in fresh processes and prints wall time per run, the estimate the CLI
printed before sampling, and their ratio. ``--busy`` starts a competing process that keeps one core busy
(as a browser or a second job would) for the duration.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from srdesk.core.metrics import to_uint8
from srdesk.core.resample import matlab_bicubic

REPO = Path(__file__).resolve().parents[1]
FACES = REPO.parent / "shared" / "data" / "faces"


def spin(stop: float) -> None:
    x = 0.0
    while time.time() < stop:
        x += 1.0


def make_faces(folder: Path, count: int) -> None:
    test = json.loads((FACES / "splits.json").read_text())["test"]
    for k, name in enumerate(test[:count]):
        face = np.asarray(Image.open(FACES / "64" / name).convert("RGB"), dtype=np.float64) / 255
        Image.fromarray(to_uint8(matlab_bicubic(matlab_bicubic(face, (32, 32)), (8, 8)))).save(folder / f"f{k}.png")


def run(folder: Path, out: Path, samples: int, threads: int) -> tuple[float, float]:
    start = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).parent / "srdesk-cli"), "enhance", str(folder), "-o", str(out),
                           "-m", "pixel-recursive-faces-x4", "--samples", str(samples), "--threads", str(threads),
                           "--existing", "overwrite"], capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    found = re.search(r"about ([0-9.]+) min", done.stderr)
    return seconds, float(found.group(1)) * 60 if found else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--faces", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--busy", action="store_true", help="keep one core busy with another process meanwhile")
    args = parser.parse_args()
    busy = None
    if args.busy:
        busy = multiprocessing.Process(target=spin, args=(time.time() + 3600,), daemon=True)
        busy.start()
    print(f"{'faces':>5} {'samples':>7} {'threads':>7} {'wall s':>8} {'estimate s':>10} {'wall/est':>8}"
          f"  ({'busy' if busy else 'idle'} machine)")
    try:
        for count in args.faces:
            with tempfile.TemporaryDirectory() as tmp:
                folder = Path(tmp) / "in"
                folder.mkdir()
                make_faces(folder, count)
                for threads in (1, 2):
                    wall, estimate = run(folder, Path(tmp) / f"out{threads}", args.samples, threads)
                    print(f"{count:>5} {args.samples:>7} {threads:>7} {wall:>8.1f} {estimate:>10.1f} "
                          f"{wall / estimate:>8.2f}", flush=True)
    finally:
        if busy is not None:
            busy.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
