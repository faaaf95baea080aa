"""What each damage of the realistic benchmark costs a model: its gain over bicubic with one damage left out.

    python -m bench.damage_ablation [--models photo-x4] [--datasets Set14,BSD68] [--scale 4]

``srdesk-cli eval --degradation real`` blurs, reduces, adds sensor noise and saves a JPEG
(srdesk.core.evaluate.real_degradation). Here the same inputs are made four ways, every random draw kept (the
same blur, noise field and JPEG quality per image): all damages, without the JPEG, without the noise, and with
neither (blur and reduction only). The table shows, per model, the Y-PSNR (benchmark protocol) and the gain
over bicubic on each, so it is plain which damage holds a model's gain back, and where a change of the
training mix or of the model has the most to win.
"""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

import numpy as np

from bench.degradation_sweep import sweep
from bench.texture_crops import named_upscalers
from srdesk.core.evaluate import benchmark_files, crop_to_scale, real_degradation

DATA = Path(__file__).resolve().parents[2] / "shared/data/benchmarks"
VARIANTS = {"real": (True, True), "no JPEG": (True, False), "no noise": (False, True), "blur only": (False, False)}


def variant_pair(hr: np.ndarray, scale: int, key: str, noise: bool, jpeg: bool) -> tuple[np.ndarray, np.ndarray]:
    hr = crop_to_scale(hr, scale)
    return hr, real_degradation(hr, scale, key, noise=noise, jpeg=jpeg)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="photo-x4")
    parser.add_argument("--weights", type=Path, nargs="*", default=[])
    parser.add_argument("--datasets", default="Set14,BSD68")
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    methods = named_upscalers("bicubic," + args.models, args.weights)
    for dataset in args.datasets.split(","):
        files = benchmark_files(args.data / dataset)
        psnr: dict[str, dict[str, float]] = {name: {} for name in methods}
        for variant, (noise, jpeg) in VARIANTS.items():
            pair = functools.partial(variant_pair, noise=noise, jpeg=jpeg)
            for name, upscaler in methods.items():
                psnr[name][variant] = sweep(upscaler, files, args.scale, variant, pair=pair).mean_psnr
        print(f"\n{dataset} x{args.scale}, Y-PSNR dB (gain over bicubic)")
        print("| method | " + " | ".join(VARIANTS) + " |\n|---|" + "---|" * len(VARIANTS))
        for name in methods:
            gains = {v: psnr[name][v] - psnr["bicubic"][v] for v in VARIANTS}
            cells = [f"{psnr[name][v]:.2f}" + ("" if name == "bicubic" else f" ({gains[v]:+.2f})") for v in VARIANTS]
            print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
