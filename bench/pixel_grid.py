"""Periodic artefacts: how much of a result's fine detail is locked to the output's pixel grid.

    python -m bench.pixel_grid [--models photo-x4,photo-crisp-x4] [--weights runs/X/best.safetensors ...]
                               [--dataset Set14] [--scale 4] [--degradation real] [--by-direction]

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
tile with edges raises it (a GAN run's blocky mosaic over fur and grass, docs/training-log.md "the mosaic": 1.20 / 1.22
at step 2,500, clean at 200 %; BSD68 1.28 at 3,500; 1.30 / 1.35 at 5,400).

A third column, *spectral rise*, catches fine stripes and dots at a period of 2-3 output pixels that
are tied neither to a phase nor to the cells (the patch discriminator's runs grew them over zebra and
tiger fur after 4,500-6,000 CPU steps, while both measures above stayed low): the luma's power
spectrum along rows and along columns (Hann window), averaged in bands 0.05 cycles/px wide from 0.1 to
0.5; the largest ratio of a band's power to the band below it, averaged over the dataset. A photo loses
power with frequency; a pattern at one frequency makes its band rise over the one below. Set14 real
inputs x4: ground truth 1.10, photo-x4 1.20, photo-crisp-x4 1.23, bicubic 1.58 (the images of the input's
spectrum around 0.25 cycles/px that an interpolation leaves); the discriminator-cell-view GAN runs
1.66 at 3,000 steps, 2.0 at 4,500-5,000 (stripes faint at 200 %), 2.47 / 3.57 at 5,500 / 6,000 with
96 px crops (stripes plain on zebra and tiger). ``--by-direction`` adds the rise along rows (vertical
stripes) and along columns (horizontal) separately: ground truth 1.06 / 0.86, photo-crisp-x4 1.20 / 1.02;
the random-features loss's direction bias showed there (docs/training-log.md, "Where the stripes' direction
comes from").
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

from bench.texture_crops import named_upscalers
from srdesk.core.evaluate import benchmark_files, load_ground_truth, make_pair
from srdesk.core.metrics import rgb_to_y, to_uint8
from srdesk.engine import pipeline


def luma(image: np.ndarray) -> np.ndarray:
    """BT.601 luma (float64) of a result as saved: floats in [0, 1] quantised to 8 bits first."""
    return rgb_to_y(to_uint8(image) if image.dtype != np.uint8 else image)


def grid_strength(image: np.ndarray, scale: int) -> float:
    """RMS over the scale^2 sub-pixel phases of the mean high-passed luma (grey levels)."""
    y = luma(image)
    high = y - gaussian_filter(y, 2.0)
    h, w = high.shape[0] // scale * scale, high.shape[1] // scale * scale
    phases = high[:h, :w].reshape(h // scale, scale, w // scale, scale).mean(axis=(0, 2))
    return float(np.sqrt(np.mean((phases - phases.mean()) ** 2)))


def cell_edges(image: np.ndarray, scale: int) -> float:
    """Largest over the mean of the per-phase mean |step| between neighbouring luma pixels (1 = no phase)."""
    y = luma(image)
    ratios = []
    for steps in (np.abs(np.diff(y, axis=1)), np.abs(np.diff(y, axis=0)).T):
        by_phase = np.array([steps[:, p::scale].mean() for p in range(scale)])
        ratios.append(by_phase.max() / max(by_phase.mean(), 1e-12))
    return float(max(ratios))


def spectral_rises(image: np.ndarray) -> tuple[float, float]:
    """Largest ratio of a 0.05 cycles/px band's power to the band below it: along rows (vertical stripes),
    along columns (horizontal stripes)."""
    y = luma(image)
    edges = np.arange(0.10, 0.5001, 0.05)
    rises = []
    for lines in (y, y.T):
        lines = (lines - lines.mean(axis=1, keepdims=True)) * np.hanning(lines.shape[1])
        power = (np.abs(np.fft.rfft(lines, axis=1)) ** 2).mean(axis=0)
        freq = np.fft.rfftfreq(lines.shape[1])
        bands = np.array([power[(freq >= lo) & (freq < hi)].mean() for lo, hi in itertools.pairwise(edges)])
        rises.append(float(np.max(bands[1:] / np.maximum(bands[:-1], 1e-12))))
    return rises[0], rises[1]


def spectral_rise(image: np.ndarray) -> float:
    """The larger of the two :func:`spectral_rises`."""
    return max(spectral_rises(image))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="bicubic,photo-x4,photo-crisp-x4")
    parser.add_argument("--weights", type=Path, nargs="*", default=[])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/benchmarks")
    parser.add_argument("--dataset", default="Set14")
    parser.add_argument("--scale", type=int, choices=(2, 4), default=4)
    parser.add_argument("--degradation", choices=("clean", "real"), default="real")
    parser.add_argument("--by-direction", action="store_true",
                        help="also the spectral rise along rows (vertical stripes) and columns (horizontal)")
    args = parser.parse_args(argv)
    methods = named_upscalers(args.models, args.weights)
    files = benchmark_files(args.data / args.dataset)
    if not files:
        print(f"no images in {args.data / args.dataset}", file=sys.stderr)
        return 2
    pairs = [make_pair(load_ground_truth(f), args.scale, args.degradation, key=f"{args.dataset}/{f.name}")
             for f in files]
    def row(name: str, images: list[np.ndarray]) -> None:
        rises = np.array([spectral_rises(r) for r in images])
        print(f"{name:40s} {np.mean([grid_strength(r, args.scale) for r in images]):.3f}  "
              f"{np.mean([cell_edges(r, args.scale) for r in images]):.3f}       "
              f"{np.mean(rises.max(axis=1)):.3f}"
              + (f"          {rises[:, 0].mean():.2f} / {rises[:, 1].mean():.2f}" if args.by_direction else ""))

    print(f"{'':40s} grid   cell edges  spectral rise" + ("  rows / columns" if args.by_direction else ""))
    row("ground truth", [hr for hr, _ in pairs])
    for name, upscaler in methods.items():
        row(name, [pipeline.enhance(lr.astype(np.float32) / 255, upscaler, args.scale).pixels for _, lr in pairs])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
