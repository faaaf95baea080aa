"""The automatic method against the two models it chooses between, on the inputs people have.

    python -m bench.automatic [--datasets Set14,BSD68] [--conditions clean,q95,...] [--scale 2]

Each benchmark image is reduced x4 (or x2; MATLAB bicubic, as the benchmark's protocol) and damaged one way per
condition, with fixed seeds: saved losslessly (``clean``), as JPEG (``q95``, ``q90``, ``q80``), with Gaussian
noise (``n2q90``: 2 levels, then JPEG 90; ``n4q90``), as a camera's own JPEG (``camera``: lens blur 0.6 px,
noise 1.5 levels, JPEG 92), the realistic benchmark (``real``, srdesk.core.evaluate.real_degradation) and its
noise without the JPEG (``realnoise``: strong, brightness-dependent sensor noise saved losslessly), and every
4th (or 2nd) pixel taken with nothing averaged (``subsample``: aliasing, saved losslessly; not MATLAB's
reduction, as the others are). The table
gives Y-PSNR (benchmark protocol) of `photo-x4`, `clean-x4` and the automatic method `auto` (at x2: of the x2
models it chooses between there), and how often `auto` chose the clean-image model. It enlarges with the model
it chooses (pixel for pixel, tests/unit/test_automatic.py), so its score per image is the chosen model's.
"""

from __future__ import annotations

import argparse
import functools
import json
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
from srdesk.models import registry

DATA = Path(__file__).resolve().parents[2] / "shared/data/benchmarks"
SEED = 4_204_211
# name: (lens blur sigma in HR pixels, Gaussian noise in levels, JPEG quality or None)
CONDITIONS = {"clean": (0.0, 0.0, None), "q95": (0.0, 0.0, 95), "q90": (0.0, 0.0, 90), "q80": (0.0, 0.0, 80),
              "n2q90": (0.0, 2.0, 90), "n4q90": (0.0, 4.0, 90), "camera": (0.6, 1.5, 92)}
REAL = {"real": True, "realnoise": False}  # the realistic benchmark, with its JPEG and without
SUBSAMPLE = "subsample"  # every scale-th pixel taken, nothing averaged (aliasing), saved losslessly


def damaged(hr: np.ndarray, key: str, condition: str, scale: int = 4) -> np.ndarray:
    if condition in REAL:
        return real_degradation(hr, scale, key, jpeg=REAL[condition])
    if condition == SUBSAMPLE:
        return hr[scale // 2::scale, scale // 2::scale].copy()
    blur, noise, quality = CONDITIONS[condition]
    image = hr.astype(np.float64) / 255
    if blur:
        image = lens_blur(image, blur)
    image = matlab_bicubic(image, (hr.shape[0] // scale, hr.shape[1] // scale))
    rng = np.random.default_rng([SEED, zlib.crc32(key.encode()), zlib.crc32(condition.encode())])
    image = image + rng.standard_normal(image.shape) * noise / 255
    return to_uint8(image) if quality is None else jpeg_round_trip(to_uint8(image), quality)


def kept_pair(hr: np.ndarray, scale: int, key: str, condition: str, inputs: dict[str, np.ndarray]
              ) -> tuple[np.ndarray, np.ndarray]:
    """The benchmark's pair for ``condition``, the input kept in ``inputs`` (for the automatic choice)."""
    hr = crop_to_scale(hr, scale)
    inputs[key] = damaged(hr, key, condition, scale)
    return hr, inputs[key]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="Set14,BSD68")
    parser.add_argument("--conditions", default=",".join([*CONDITIONS, *REAL, SUBSAMPLE]))
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--scale", type=int, choices=(2, 4), default=4)
    parser.add_argument("--per-image", type=Path, default=None,
                        help="also write each image's scores and measurements here (JSON), to study the choice")
    args = parser.parse_args()
    rows: list[dict[str, object]] = []
    scale = args.scale
    auto = registry.get("auto")
    clean, photo = auto.choices_for(scale)
    models = named_upscalers(f"{photo},{clean}", [])
    conditions = args.conditions.split(",")
    for dataset in args.datasets.split(","):
        files = benchmark_files(args.data / dataset)
        print(f"\n{dataset} x{scale}, Y-PSNR dB ({auto.name}: share of photos it gave {clean})")
        print(f"| input | {photo} | {clean} | {auto.name} |\n|---|---|---|---|")
        for condition in conditions:
            inputs: dict[str, np.ndarray] = {}
            pair = functools.partial(kept_pair, condition=condition, inputs=inputs)
            scores = {name: sweep(upscaler, files, scale, condition, pair=pair) for name, upscaler in models.items()}
            sources = [from_array(lr.astype(np.float32) / 255) for lr in inputs.values()]
            chosen = [pipeline.resolve(EnhanceRequest(model=auto.name, scale=scale), source)[0].model
                      for source in sources]
            for k, (key, source) in enumerate(zip(inputs, sources, strict=True)):
                measured = pipeline.assessment_of(source)
                rows.append({"dataset": dataset, "condition": condition, "key": key, "quality": measured.quality,
                             "noise": measured.noise, "chosen": chosen[k],
                             **{name: scores[name].images[k].psnr for name in models}})
            mean = np.mean([scores[c].images[k].psnr for k, c in enumerate(chosen)])
            share = chosen.count(clean) / len(chosen)
            print(f"| {condition} | {scores[photo].mean_psnr:.2f} | {scores[clean].mean_psnr:.2f} | "
                  f"**{mean:.2f}** ({share:.0%} {clean}) |", flush=True)
    if args.per_image is not None:
        args.per_image.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
