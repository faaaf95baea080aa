"""The models on damage they were never trained or measured on: is srdesk still better than Lanczos there?

    python -m bench.held_out [--models bicubic,lanczos,auto,photo-x4,clean-x4,photo-crisp-x4]
                             [--datasets Set14,BSD68] [--conditions lanczos85,box90,...] [--scale 4]

The training sampler (srdesk.training.degrade) and the realistic benchmark (srdesk.core.evaluate.real_degradation)
reduce with bicubic or area filters and damage with Gaussian blur, sensor noise and JPEG. Photos also come
reduced by other tools and damaged in other ways; each condition here is one of those, with fixed seeds per
image, none of them in any training mix:

- ``lanczos85``: reduced with Pillow's Lanczos (what most web tools and thumbnailers use; sharper than
  bicubic, with its ringing), JPEG 85;
- ``box90``: reduced by averaging each 4x4 block (a phone gallery's "smaller copy"), JPEG 90;
- ``subsample``: every 4th pixel taken, nothing averaged (the cheapest reducers: aliasing, jagged edges), PNG;
- ``q40``: bicubic, JPEG 40 (re-shared through a messenger), then ``q80q60``: saved twice, at 80 and then 60;
- ``webp``: bicubic, WebP 70 (its own blocking and smoothing, not JPEG's);
- ``motion``: a straight camera shake of 9 HR pixels at a random angle, bicubic, JPEG 85;
- ``sharpened``: bicubic, then an unsharp mask as a phone's processing applies (halos), JPEG 85;
- ``smoothed``: sensor noise of 6 levels removed by a 3x3 median as a phone's noise reduction does
  (smeared texture), JPEG 90.

Each cell is srdesk.core.evaluate's protocol (the cards' numbers): Y-PSNR / detail ratio / NIQE; the last
column is each model's mean Y-PSNR gain over Lanczos. ``auto`` enlarges with the model it chooses per photo.
"""

from __future__ import annotations

import argparse
import functools
import io
import zlib
from pathlib import Path

import numpy as np
import scipy.ndimage
from PIL import Image, ImageFilter

from bench.automatic import SUBSAMPLE
from bench.automatic import damaged as automatic_damaged
from bench.degradation_sweep import sweep
from bench.texture_crops import named_upscalers, save_mosaic
from srdesk.core.evaluate import (
    EvalResult,
    benchmark_files,
    crop_to_scale,
    evaluate,
    jpeg_round_trip,
    load_ground_truth,
    make_pair,
)
from srdesk.core.metrics import to_uint8
from srdesk.engine import pipeline

DATA = Path(__file__).resolve().parents[2] / "shared/data/benchmarks"
SEED = 5_517_003
# (dataset, file, (left, top, size) in HR pixels): contours and a fine pattern for --figure
FIGURE_CROPS = [("Set14", "monarch.png", (300, 120, 120)), ("Set14", "barbara.png", (80, 380, 120))]
CONDITIONS = ("lanczos85", "box90", "subsample", "q40", "q80q60", "webp", "motion", "sharpened", "smoothed")


def _bicubic(hr: np.ndarray, scale: int) -> np.ndarray:
    """The benchmark protocol's clean reduction (MATLAB bicubic, 8-bit)."""
    return make_pair(hr, scale)[1]


def _saved(pixels: np.ndarray, format: str, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=format, quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("RGB"), dtype=np.uint8)


def _motion_kernel(length: int, angle: float) -> np.ndarray:
    """A straight line of ``length`` pixels at ``angle`` radians, drawn anti-aliased, summing to 1."""
    size = length | 1
    kernel = np.zeros((size * 4, size * 4))
    centre = (size * 4 - 1) / 2
    for t in np.linspace(-(length - 1) / 2, (length - 1) / 2, length * 8):
        kernel[round(centre + 4 * t * np.sin(angle)), round(centre + 4 * t * np.cos(angle))] += 1
    kernel = kernel.reshape(size, 4, size, 4).sum(axis=(1, 3))
    return kernel / kernel.sum()


def damaged(hr: np.ndarray, scale: int, key: str, condition: str) -> np.ndarray:
    """8-bit HR -> 8-bit LR by ``condition`` (see the module's text), fixed per ``key``."""
    rng = np.random.default_rng([SEED, zlib.crc32(key.encode()), zlib.crc32(condition.encode())])
    h, w = hr.shape[0] // scale, hr.shape[1] // scale
    if condition == "lanczos85":
        return jpeg_round_trip(np.asarray(Image.fromarray(hr).resize((w, h), Image.Resampling.LANCZOS)), 85)
    if condition == "box90":
        box = hr.reshape(h, scale, w, scale, 3).astype(np.float64).mean(axis=(1, 3))
        return jpeg_round_trip(to_uint8(box / 255), 90)
    if condition == SUBSAMPLE:  # the automatic choice's bench has the same one
        return automatic_damaged(hr, key, condition, scale)
    if condition == "q40":
        return jpeg_round_trip(_bicubic(hr, scale), 40)
    if condition == "q80q60":
        return jpeg_round_trip(jpeg_round_trip(_bicubic(hr, scale), 80), 60)
    if condition == "webp":
        return _saved(_bicubic(hr, scale), "WEBP", 70)
    if condition == "motion":
        kernel = _motion_kernel(9, rng.uniform(0, np.pi))
        shaken = np.stack([scipy.ndimage.convolve(hr[..., c].astype(np.float64), kernel, mode="reflect")
                           for c in range(3)], axis=2)
        return jpeg_round_trip(_bicubic(to_uint8(shaken / 255), scale), 85)
    if condition == "sharpened":
        small = Image.fromarray(_bicubic(hr, scale))
        return jpeg_round_trip(np.asarray(small.filter(ImageFilter.UnsharpMask(radius=1.5, percent=120,
                                                                                threshold=2))), 85)
    if condition == "smoothed":
        noisy = _bicubic(hr, scale).astype(np.float64) + rng.standard_normal((h, w, 3)) * 6
        median = np.stack([scipy.ndimage.median_filter(noisy[..., c], size=3, mode="reflect") for c in range(3)],
                          axis=2)
        return jpeg_round_trip(to_uint8(median / 255), 90)
    raise ValueError(f"unknown condition {condition!r}; use one of {CONDITIONS}")


def pair_for(condition: str, hr: np.ndarray, scale: int, key: str) -> tuple[np.ndarray, np.ndarray]:
    hr = crop_to_scale(hr, scale)
    return hr, damaged(hr, scale, key, condition)


def automatic(files: list[Path], scale: int, condition: str) -> EvalResult:
    """The automatic method as a user gets it: the model chosen per photo from its own pixels."""
    def upscale(lr: np.ndarray, s: int) -> np.ndarray:
        return pipeline.enhance(lr, "auto", s, precision="exact", threads=1).pixels

    return evaluate(upscale, files, scale, degradation=condition, pair=functools.partial(pair_for, condition))


def figure(names: list[str], upscalers: dict[str, pipeline.Upscaler], conditions: list[str], data: Path,
           scale: int, path: Path) -> None:
    """Per crop and condition a row: the input (pixels repeated), each model, the photo; all at 200 %."""
    rows = []
    for dataset, file, (left, top, size) in FIGURE_CROPS:
        key = f"{dataset}/{file}"
        for condition in conditions:
            hr, lr = pair_for(condition, load_ground_truth(data / dataset / file), scale, key)
            row = [lr.repeat(scale, axis=0).repeat(scale, axis=1)]
            for name in names:
                method = upscalers.get(name, name)
                result = pipeline.enhance(lr.astype(np.float32) / 255, method, scale, precision="exact")
                row.append(to_uint8(result.pixels))
            rows.append([image[top:top + size, left:left + size] for image in [*row, hr]])
    save_mosaic(rows, path)
    print(f"figure: {path} (rows: {[f'{f} {c}' for _, f, _ in FIGURE_CROPS for c in conditions]}; columns: input, "
          f"{', '.join(names)}, photo)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="bicubic,lanczos,auto,photo-x4,clean-x4,photo-crisp-x4")
    parser.add_argument("--datasets", default="Set14,BSD68")
    parser.add_argument("--conditions", default=",".join(CONDITIONS))
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--scale", type=int, choices=(2, 4), default=4)
    parser.add_argument("--weights", type=Path, nargs="*", default=[], help="training runs' weights, as models too")
    parser.add_argument("--figure", type=Path, default=None,
                        help="only draw crops at 200 %% per condition (input, each model, photo) to this PNG")
    args = parser.parse_args()
    upscalers = named_upscalers(",".join(n for n in args.models.split(",") if n != "auto"), args.weights)
    names = [n for n in args.models.split(",") if n] + [n for n in upscalers if n not in args.models.split(",")]
    conditions = args.conditions.split(",")
    if args.figure:
        figure(names, upscalers, conditions, args.data, args.scale, args.figure)
        return 0
    for dataset in args.datasets.split(","):
        files = benchmark_files(args.data / dataset)
        print(f"\n{dataset} x{args.scale}, Y-PSNR dB / detail / NIQE; last column: mean gain over Lanczos")
        print("| model | " + " | ".join(conditions) + " | vs Lanczos |")
        print("|---" * (len(conditions) + 2) + "|")
        psnr: dict[str, list[float]] = {}
        # Lanczos first, so that every row's gain over it can be printed as the row is done
        for name in sorted(names, key=lambda n: n != "lanczos"):
            cells = []
            for condition in conditions:
                if name == "auto":
                    r = automatic(files, args.scale, condition)
                else:
                    r = sweep(upscalers[name], files, args.scale, condition,
                              pair=functools.partial(pair_for, condition))
                psnr.setdefault(name, []).append(r.mean_psnr)
                cells.append(f"{r.mean_psnr:.2f} / {r.mean_detail:.2f} / {r.mean_niqe:.1f}")
            gain = np.mean(np.subtract(psnr[name], psnr["lanczos"])) if "lanczos" in psnr else float("nan")
            print(f"| {name} | " + " | ".join(cells) + f" | {gain:+.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
