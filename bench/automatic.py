"""The automatic method against the two models it chooses between, on the inputs people have.

    python -m bench.automatic [--datasets Set14,BSD68] [--conditions clean,q95,...]

Each benchmark image is reduced x4 (MATLAB bicubic, as the benchmark's protocol) and damaged one way per
condition, with fixed seeds: saved losslessly (``clean``), as JPEG (``q95``, ``q90``, ``q80``), with Gaussian
noise (``n2q90``: 2 levels, then JPEG 90; ``n4q90``), as a camera's own JPEG (``camera``: lens blur 0.6 px,
noise 1.5 levels, JPEG 92), the realistic benchmark (``real``, srdesk.core.evaluate.real_degradation) and its
noise without the JPEG (``realnoise``: strong, brightness-dependent sensor noise saved losslessly). The table
gives Y-PSNR (benchmark protocol) of `photo-x4`, `clean-x4` and `auto-x4`, and how often `auto-x4` chose
`clean-x4`. `auto-x4` enlarges with the model it chooses (pixel for pixel, tests/unit/test_automatic.py), so its
score per image is the chosen model's.
"""

from __future__ import annotations

import argparse
import functools
import zlib
from pathlib import Path

import numpy as np

from bench.degradation_sweep import sweep
from bench.texture_crops import named_upscalers
from srdesk.core.evaluate import benchmark_files, crop_to_scale, jpeg_round_trip, lens_blur, real_degradation
from srdesk.core.imageio import from_array
from srdesk.core.metrics import to_uint8
from srdesk.core.request import EnhanceRequest
from srdesk.core.resample import matlab_bicubic
from srdesk.engine import pipeline

DATA = Path(__file__).resolve().parents[2] / "shared/data/benchmarks"
SEED = 4_204_211
# name: (lens blur sigma in HR pixels, Gaussian noise in levels, JPEG quality or None)
CONDITIONS = {"clean": (0.0, 0.0, None), "q95": (0.0, 0.0, 95), "q90": (0.0, 0.0, 90), "q80": (0.0, 0.0, 80),
              "n2q90": (0.0, 2.0, 90), "n4q90": (0.0, 4.0, 90), "camera": (0.6, 1.5, 92)}
REAL = {"real": True, "realnoise": False}  # the realistic benchmark, with its JPEG and without


def damaged(hr: np.ndarray, key: str, condition: str) -> np.ndarray:
    if condition in REAL:
        return real_degradation(hr, 4, key, jpeg=REAL[condition])
    blur, noise, quality = CONDITIONS[condition]
    image = hr.astype(np.float64) / 255
    if blur:
        image = lens_blur(image, blur)
    image = matlab_bicubic(image, (hr.shape[0] // 4, hr.shape[1] // 4))
    rng = np.random.default_rng([SEED, zlib.crc32(key.encode()), zlib.crc32(condition.encode())])
    image = image + rng.standard_normal(image.shape) * noise / 255
    return to_uint8(image) if quality is None else jpeg_round_trip(to_uint8(image), quality)


def kept_pair(hr: np.ndarray, scale: int, key: str, condition: str, inputs: dict[str, np.ndarray]
              ) -> tuple[np.ndarray, np.ndarray]:
    """The benchmark's pair for ``condition``, the input kept in ``inputs`` (for the automatic choice)."""
    hr = crop_to_scale(hr, scale)
    inputs[key] = damaged(hr, key, condition)
    return hr, inputs[key]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="Set14,BSD68")
    parser.add_argument("--conditions", default=",".join([*CONDITIONS, *REAL]))
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    models = named_upscalers("photo-x4,clean-x4", [])
    conditions = args.conditions.split(",")
    for dataset in args.datasets.split(","):
        files = benchmark_files(args.data / dataset)
        print(f"\n{dataset} x4, Y-PSNR dB (auto-x4: share of photos it gave clean-x4)")
        print("| input | photo-x4 | clean-x4 | auto-x4 |\n|---|---|---|---|")
        for condition in conditions:
            inputs: dict[str, np.ndarray] = {}
            pair = functools.partial(kept_pair, condition=condition, inputs=inputs)
            scores = {name: sweep(upscaler, files, 4, condition, pair=pair) for name, upscaler in models.items()}
            chosen = [pipeline.resolve(EnhanceRequest(model="auto-x4"), from_array(lr.astype(np.float32) / 255))[0]
                      .model for lr in inputs.values()]
            auto = np.mean([scores[c].images[k].psnr for k, c in enumerate(chosen)])
            share = chosen.count("clean-x4") / len(chosen)
            print(f"| {condition} | {scores['photo-x4'].mean_psnr:.2f} | {scores['clean-x4'].mean_psnr:.2f} | "
                  f"**{auto:.2f}** ({share:.0%} clean-x4) |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
