"""Where a model's remaining error lives: its power by spatial frequency, against the photo's own.

    python -m bench.error_spectrum [--models bicubic,photo-x4,clean-x4] [--weights runs/X/best.safetensors ...]
                                   [--datasets Set14,BSD68] [--scale 4] [--variants "real,no JPEG,blur only"]
                                   [--peers]

An enlargement can only be right at the frequencies its input still carries. Below the input's Nyquist
frequency (half a cycle per input pixel) the input holds the picture, damaged by noise and JPEG, and a
model's error there is what it failed to restore; above it the input holds only what the reduction let
alias, and a model's error there is detail it did not draw. For each method this prints, per radial band
of the luma's spectrum (frequencies in units of the input's Nyquist frequency, Hann-windowed images, summed
over the dataset's images), the error's power as a share of the ground truth's power in that band: 1.00
means nothing of the band was recovered (the result is as far from the photo there as a result with no
content in the band), 0 that the band is exact. The last columns say how much of the whole error lies
below the input's Nyquist frequency, and the Y-PSNR a result would have if that part of its error were gone
and the rest stayed ("restored"): an upper bound on what better restoration of the input alone can win,
so what is beyond it has to come from detail above that frequency.

A last column, *block edges*, asks whether the error is tied to the JPEG's 8x8 blocks of the input: the mean
squared error of output pixels over input pixels on a block's edge (row or column mod 8 is 0 or 7) divided by
that over the blocks' inner pixels. Image content alone makes it differ from 1 by a few per cent; a model that
left blocking behind would raise it.

A detail-drawing model's error rises above 1.00 in the bands where what it draws is not the photo's (drawn
detail that is right lowers it); ``--peers`` adds Real-ESRGAN x4plus and SPAN (bench.peers' ncnn files) for
scale.

The variants are bench.damage_ablation's: the realistic benchmark's inputs with the noise and/or the JPEG
left out, every other draw kept.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from bench.damage_ablation import VARIANTS, variant_pair
from bench.peers import add_peers
from bench.texture_crops import named_upscalers
from srdesk.core.evaluate import benchmark_files, load_ground_truth
from srdesk.core.metrics import psnr_y, rgb_to_y, to_uint8
from srdesk.engine import pipeline

DATA = Path(__file__).resolve().parents[2] / "shared/data/benchmarks"
EDGES = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, np.inf)  # in units of the input's Nyquist frequency
BELOW_NYQUIST = slice(0, EDGES.index(1.0))  # the bands below the input's Nyquist frequency


def band_powers(luma: np.ndarray, scale: int, edges: tuple[float, ...] = EDGES) -> np.ndarray:
    """Power of ``luma``'s spectrum (Hann-windowed) in radial bands of ``edges`` (units of the Nyquist
    frequency of an input ``scale`` times smaller: 1.0 is 1 / (2 * scale) cycles per pixel here). The bands
    sum to the mean square of the windowed image (Parseval)."""
    h, w = luma.shape
    windowed = luma * np.outer(np.hanning(h), np.hanning(w))
    power = np.abs(np.fft.fft2(windowed)) ** 2 / (h * w) ** 2
    radius = np.hypot(np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]) * 2 * scale
    band = np.digitize(radius, edges[1:-1])  # 0 .. len(edges) - 2
    return np.bincount(band.ravel(), power.ravel(), minlength=len(edges) - 1)


@dataclass
class Spectrum:
    """Band powers summed over images: the ground truth's (around its mean) and the error's."""
    signal: np.ndarray = field(default_factory=lambda: np.zeros(len(EDGES) - 1))
    error: np.ndarray = field(default_factory=lambda: np.zeros(len(EDGES) - 1))
    psnr: list[float] = field(default_factory=list)
    restored_psnr: list[float] = field(default_factory=list)
    by_block_phase: np.ndarray = field(default_factory=lambda: np.zeros((2, 8, 8)))  # error sums, pixel counts

    def add(self, result: np.ndarray, truth: np.ndarray, scale: int) -> None:
        """One result (8-bit RGB) against its ground truth, both shaved by ``scale`` as the protocol does."""
        ya = rgb_to_y(result)[scale:-scale, scale:-scale]
        yb = rgb_to_y(truth)[scale:-scale, scale:-scale]
        signal, error = band_powers(yb - yb.mean(), scale), band_powers(ya - yb, scale)
        self.signal += signal
        self.error += error
        psnr = psnr_y(result, truth, shave=scale)
        below = error[BELOW_NYQUIST].sum() / max(error.sum(), 1e-12)
        self.psnr.append(psnr)
        self.restored_psnr.append(psnr - 10 * np.log10(max(1 - below, 1e-12)))  # that part of the MSE gone
        rows, columns = np.indices(ya.shape)
        # the position in its 8x8 JPEG block of the input pixel each output pixel comes from (before the shave)
        phase = (((rows + scale) // scale) % 8) * 8 + ((columns + scale) // scale) % 8
        self.by_block_phase[0] += np.bincount(phase.ravel(), ((ya - yb) ** 2).ravel(), minlength=64).reshape(8, 8)
        self.by_block_phase[1] += np.bincount(phase.ravel(), minlength=64).reshape(8, 8)

    @property
    def share_below_nyquist(self) -> float:
        return float(self.error[BELOW_NYQUIST].sum() / self.error.sum())

    @property
    def block_edge_ratio(self) -> float:
        """Mean squared error over input pixels on a JPEG block's edge / over the blocks' inner pixels."""
        edge = np.zeros((8, 8), bool)
        edge[[0, 7], :] = edge[:, [0, 7]] = True
        errors, counts = self.by_block_phase
        return float((errors[edge].sum() / counts[edge].sum()) / (errors[~edge].sum() / counts[~edge].sum()))


def measure(upscaler: pipeline.Upscaler, files: list[Path], scale: int, noise: bool, jpeg: bool) -> Spectrum:
    spectrum = Spectrum()
    for path in files:
        hr, lr = variant_pair(load_ground_truth(path), scale, f"{path.parent.name}/{path.name}", noise, jpeg)
        result = pipeline.enhance(lr.astype(np.float32) / 255.0, upscaler, scale, precision="exact", threads=1)
        spectrum.add(to_uint8(result.pixels), hr, scale)
    return spectrum


def band_label(lo: float, hi: float) -> str:
    return f"{lo:g}-{hi:g}" if np.isfinite(hi) else f">{lo:g}"


def table(methods: dict[str, pipeline.Upscaler], args: argparse.Namespace) -> None:
    bands = [band_label(lo, hi) for lo, hi in itertools.pairwise(EDGES)]
    for dataset in args.datasets.split(","):
        files = benchmark_files(args.data / dataset)
        for variant in args.variants.split(","):
            noise, jpeg = VARIANTS[variant]
            print(f"\n{dataset} x{args.scale}, {variant}: error power / ground truth power per band "
                  "(x input Nyquist)")
            print("| method | " + " | ".join(bands) + " | error below Nyquist | Y-PSNR | restored | block edges |")
            print("|---|" + "---|" * (len(bands) + 4))
            for name, upscaler in methods.items():
                s = measure(upscaler, files, args.scale, noise, jpeg)
                shares = " | ".join(f"{e / g:.2f}" for e, g in zip(s.error, s.signal, strict=True))
                print(f"| {name} | {shares} | {s.share_below_nyquist:.0%} | {np.mean(s.psnr):.2f} | "
                      f"{np.mean(s.restored_psnr):.2f} | {s.block_edge_ratio:.2f} |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="bicubic,photo-x4,clean-x4")
    parser.add_argument("--weights", type=Path, nargs="*", default=[])
    parser.add_argument("--datasets", default="Set14,BSD68")
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"of: {', '.join(VARIANTS)}")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--peers", action="store_true", help="add Real-ESRGAN x4plus and SPAN x4 (ncnn, x4 only)")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    with tempfile.TemporaryDirectory() as folder:
        models = ",".join([args.models, *add_peers(Path(folder))]) if args.peers else args.models
        table(named_upscalers(models, args.weights, device="cpu"), args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
