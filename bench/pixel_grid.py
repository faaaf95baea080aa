"""Periodic artefacts: how much of a result's fine detail is locked to the output's pixel grid.

    python -m bench.pixel_grid [--models photo-x4,photo-crisp-x4] [--weights runs/X/best.safetensors ...]
                               [--dataset Set14] [--scale 4] [--degradation real]

A pixel-shuffle generator trained through strided or max-pooled networks can learn a pattern that
repeats every ``scale`` output pixels (a faint grid on walls and skies). The measure: the luma's
high-pass (minus a Gaussian blur, sigma 2), averaged separately over each of the scale x scale
sub-pixel phases (row mod scale, column mod scale); the RMS of those scale^2 means around their mean,
in grey levels, averaged over the dataset. Natural detail has little preferred phase (on Set14 real
inputs x4: bicubic 0.01, photo-x4 0.02, the ground truth 0.19, some of whose images carry old 8 px
JPEG blocks); a grid visible at 200 % measures 1 and more. A pattern that is not phase-locked
(dots at random places) does not show here: look at the crops (bench/texture_crops.py).

A second column, *cell edges*, catches a mosaic whose cells are the input's pixels but whose steps go
up in one place and down in the next (their signed means cancel above): the mean absolute difference
between neighbouring output pixels, by phase (column mod scale for horizontal steps, row mod scale for
vertical ones), the largest phase over the mean of all, the larger of the two directions. A photo has
little preferred phase (real inputs x4, Set14 / BSD68: ground truth 1.04 / 1.02); every interpolation has
some (bicubic 1.17 / 1.20, photo-crisp-x4 1.19 / 1.22), and a generator that draws each input pixel as a
tile with edges raises it (a GAN run's blocky mosaic over fur and grass, README "the mosaic": 1.20 / 1.22
at step 2,500, clean at 200 %; BSD68 1.28 at 3,500; 1.30 / 1.35 at 5,400).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

from bench.texture_crops import named_upscalers
from srdesk.core.evaluate import benchmark_files, load_ground_truth, make_pair
from srdesk.core.metrics import rgb_to_y, to_uint8
from srdesk.engine import pipeline


def grid_strength(image: np.ndarray, scale: int) -> float:
    """RMS over the scale^2 sub-pixel phases of the mean high-passed luma (grey levels)."""
    y = rgb_to_y(to_uint8(image) if image.dtype != np.uint8 else image).astype(np.float64)
    high = y - gaussian_filter(y, 2.0)
    h, w = high.shape[0] // scale * scale, high.shape[1] // scale * scale
    phases = high[:h, :w].reshape(h // scale, scale, w // scale, scale).mean(axis=(0, 2))
    return float(np.sqrt(np.mean((phases - phases.mean()) ** 2)))


def cell_edges(image: np.ndarray, scale: int) -> float:
    """Largest over the mean of the per-phase mean |step| between neighbouring luma pixels (1 = no phase)."""
    y = rgb_to_y(to_uint8(image) if image.dtype != np.uint8 else image).astype(np.float64)
    ratios = []
    for steps in (np.abs(np.diff(y, axis=1)), np.abs(np.diff(y, axis=0)).T):
        by_phase = np.array([steps[:, p::scale].mean() for p in range(scale)])
        ratios.append(by_phase.max() / max(by_phase.mean(), 1e-12))
    return float(max(ratios))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="bicubic,photo-x4,photo-crisp-x4")
    parser.add_argument("--weights", type=Path, nargs="*", default=[])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/benchmarks")
    parser.add_argument("--dataset", default="Set14")
    parser.add_argument("--scale", type=int, choices=(2, 4), default=4)
    parser.add_argument("--degradation", choices=("clean", "real"), default="real")
    args = parser.parse_args(argv)
    methods = named_upscalers(args.models, args.weights)
    files = benchmark_files(args.data / args.dataset)
    if not files:
        print(f"no images in {args.data / args.dataset}", file=sys.stderr)
        return 2
    pairs = [make_pair(load_ground_truth(f), args.scale, args.degradation, key=f"{args.dataset}/{f.name}")
             for f in files]
    print(f"{'':40s} grid   cell edges")
    print(f"{'ground truth':40s} {np.mean([grid_strength(hr, args.scale) for hr, _ in pairs]):.3f}  "
          f"{np.mean([cell_edges(hr, args.scale) for hr, _ in pairs]):.3f}")
    for name, upscaler in methods.items():
        results = [pipeline.enhance(lr.astype(np.float32) / 255, upscaler, args.scale).pixels for _, lr in pairs]
        print(f"{name:40s} {np.mean([grid_strength(r, args.scale) for r in results]):.3f}  "
              f"{np.mean([cell_edges(r, args.scale) for r in results]):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
