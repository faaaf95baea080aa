"""A learned crisp model against sharpening the faithful model's result afterwards, at matched detail.

    python -m bench.sharpen_after [--base photo-x4] [--crisp photo-crisp-x4] [--strengths 0.5,1]
                                  [--weights 0.5,0.75,1,1.25] [--sigma 2] [--datasets Set5,Set14,BSD68]

`photo-crisp-x4` is `photo-x4` trained towards unsharp-masked photos; the same mask applied to `photo-x4`'s
result (threshold 0, so a linear filter) is its simplest rival. The two are compared where they give the same
amount of detail, not at the same mask: for the crisp model at each detail strength, and for `photo-x4` followed
by an unsharp mask (sigma ``--sigma`` output pixels) at each weight, realistic inputs (``srdesk-cli eval
--degradation real``): Y-PSNR / SSIM / detail ratio / NIQE.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from srdesk.core.evaluate import EvalResult, benchmark_files, evaluate
from srdesk.engine import pipeline
from srdesk.training.degrade import unsharp_mask

DATA = Path(__file__).resolve().parents[2] / "shared/data/benchmarks"


def sharpened(result: np.ndarray, weight: float, sigma: float) -> np.ndarray:
    """``result`` (H, W, 3 floats) plus ``weight`` times its difference from a Gaussian blur of ``sigma``."""
    image = torch.from_numpy(np.ascontiguousarray(result, dtype=np.float32)).permute(2, 0, 1)[None]
    return unsharp_mask(image, weight, sigma, threshold=0.0)[0].permute(1, 2, 0).numpy()


def measure(upscaler: pipeline.Upscaler, files: list[Path], scale: int, weight: float = 0.0,
            sigma: float = 2.0) -> EvalResult:
    def upscale(lr: np.ndarray, s: int) -> np.ndarray:
        result = pipeline.enhance(lr, upscaler, s, precision="exact", threads=1).pixels
        return sharpened(result, weight, sigma) if weight else result

    return evaluate(upscale, files, scale, degradation="real")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="photo-x4")
    parser.add_argument("--crisp", default="photo-crisp-x4")
    parser.add_argument("--strengths", default="0.5,1")
    parser.add_argument("--weights", default="0.5,0.75,1,1.25")
    parser.add_argument("--sigma", type=float, default=2.0)
    parser.add_argument("--datasets", default="Set5,Set14,BSD68")
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    base = pipeline.get_upscaler(args.base, "cpu", "exact")
    rows: list[tuple[str, pipeline.Upscaler, float]] = [(args.base, base, 0.0)]
    strengths, weights = [float(s) for s in args.strengths.split(",")], [float(w) for w in args.weights.split(",")]
    rows += [(f"{args.crisp} at {s:g}", pipeline.get_upscaler(args.crisp, "cpu", "exact", s), 0.0) for s in strengths]
    rows += [(f"{args.base}, mask weight {w:g}", base, w) for w in weights]
    datasets = args.datasets.split(",")
    print(f"| x{args.scale}, real inputs | " + " | ".join(datasets) + " |  (Y-PSNR / SSIM / detail / NIQE)")
    print("|---|" + "---|" * len(datasets))
    for label, upscaler, weight in rows:
        cells = []
        for dataset in datasets:
            r = measure(upscaler, benchmark_files(args.data / dataset), args.scale, weight, args.sigma)
            cells.append(f"{r.mean_psnr:.2f} / {r.mean_ssim:.3f} / {r.mean_detail:.2f} / {r.mean_niqe:.1f}")
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
