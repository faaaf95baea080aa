"""One model across the inputs people have: clean, realistic and heavily damaged.

    python -m bench.degradation_sweep [--models bicubic,photo-x4] [--weights runs/X/best.safetensors ...]
                                      [--datasets Set5,Set14,BSD68] [--scale 4] [--kinds clean,real,heavy]

A training mix is a trade: more damage in training makes a model better on
damaged photos and softer on clean ones. This prints Y-PSNR / SSIM / detail
ratio per dataset for three kinds of input, so a new mix is judged on all of
them at once and not on the one it was tuned for:

- ``clean``: the literature's MATLAB bicubic reduction;
- ``real``: srdesk.core.evaluate.real_degradation (mild blur, bicubic reduction, sensor noise,
  JPEG 60-85: the benchmark's realistic inputs);
- ``heavy``: the training sampler's second-order pipeline at full strength (Real-ESRGAN's ranges: strong
  noise, several resizes and JPEGs, ringing), with fixed seeds per image of its own. It stands for old,
  re-shared pictures, which the realistic benchmark does not contain.

``--weights`` takes a training run's ``best.safetensors`` (its config.json beside it). Each cell is
srdesk.core.evaluate's protocol (the cards' numbers): Y-PSNR / SSIM / detail ratio / NIQE.
"""

from __future__ import annotations

import argparse
import sys
import zlib
from pathlib import Path

import numpy as np
import torch

from bench.texture_crops import named_upscalers
from srdesk.core.evaluate import EvalResult, PairFn, benchmark_files, crop_to_scale, evaluate
from srdesk.core.metrics import to_uint8
from srdesk.engine import pipeline

HEAVY_SEED = 7_340_117


def heavy_pair(hr: np.ndarray, scale: int, key: str) -> tuple[np.ndarray, np.ndarray]:
    from srdesk.training.degrade import Degradation, degrade_one

    hr = crop_to_scale(hr, scale)
    seed = [HEAVY_SEED, zlib.crc32(key.encode())]
    tensor = torch.from_numpy(hr.astype(np.float32) / 255).permute(2, 0, 1)
    generator = torch.Generator().manual_seed(int(np.random.default_rng(seed).integers(2**31)))
    lr = degrade_one(tensor, Degradation(scale=scale), np.random.default_rng(seed), generator)
    return hr, to_uint8(lr.permute(1, 2, 0).numpy())


def sweep(upscaler: pipeline.Upscaler, files: list[Path], scale: int, kind: str, pair: PairFn | None = None
          ) -> EvalResult:
    """``upscaler`` on ``files`` made ``kind`` (clean, real, heavy), or by ``pair`` (``kind`` then names it)."""
    def upscale(lr: np.ndarray, s: int) -> np.ndarray:
        return pipeline.enhance(lr, upscaler, s, precision="exact", threads=1).pixels

    if pair is None and kind == "heavy":
        pair = heavy_pair
    return evaluate(upscale, files, scale, degradation=kind, pair=pair)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="bicubic,photo-x4")
    parser.add_argument("--weights", type=Path, nargs="*", default=[])
    parser.add_argument("--benchmarks", type=Path, default=Path("../shared/data/benchmarks"))
    parser.add_argument("--datasets", default="Set5,Set14,BSD68")
    parser.add_argument("--kinds", default="clean,real,heavy")
    parser.add_argument("--scale", type=int, default=4)
    args = parser.parse_args(argv)
    torch.set_grad_enabled(False)
    upscalers = named_upscalers(args.models, args.weights, device="cpu")
    kinds = args.kinds.split(",")
    print("model | " + " | ".join(f"{d} {k}" for d in args.datasets.split(",") for k in kinds)
          + "  (Y-PSNR dB / SSIM / detail / NIQE)")
    for label, upscaler in upscalers.items():
        cells = []
        for dataset in args.datasets.split(","):
            files = benchmark_files(args.benchmarks / dataset)
            for kind in kinds:
                r = sweep(upscaler, files, args.scale, kind)
                cells.append(f"{r.mean_psnr:.2f} / {r.mean_ssim:.4f} / {r.mean_detail:.2f} / {r.mean_niqe:.1f}")
        print(f"{label} | " + " | ".join(cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
