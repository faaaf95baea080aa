"""Network interpolation sweep: fidelity (Set5 Y-PSNR) vs detail for blends of an SRGAN run with SRResNet.

    python bench/blend_sweep.py --weights runs/srgan-x4/best.safetensors \\
        [--with weights/srresnet-x4.safetensors] [--alphas 1,0.8,0.6,0.4,0.2]

alpha x the adversarial weights + (1 - alpha) x the PSNR model's (Wang et al.
2018). Prints, per alpha, Set5 Y-PSNR (the shipping floor is bicubic + 1 dB)
and the texture bench's mean detail ratio, to choose what
`srdesk-cli train export --blend-with ... --alpha A` ships.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from safetensors.torch import save_file

from bench.texture_crops import CROPS, detail_ratio, upscaler_from_run
from srdesk.core.evaluate import benchmark_files, evaluate, load_ground_truth, make_pair
from srdesk.engine import pipeline
from srdesk.training.export import blend


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", type=Path, required=True, help="a run's best.safetensors (config.json beside)")
    parser.add_argument("--with", dest="other", type=Path, default=Path("weights/srresnet-x4.safetensors"))
    parser.add_argument("--alphas", default="1,0.8,0.6,0.4,0.2")
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/benchmarks")
    args = parser.parse_args()
    set5 = benchmark_files(args.data / "Set5")
    crops = [make_pair(load_ground_truth(args.data / d / f), 4) for d, f, _ in CROPS if (args.data / d / f).exists()]
    print("| alpha | Set5 Y-PSNR (dB) | detail ratio |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copyfile(args.weights.parent / "config.json", Path(tmp) / "config.json")
        for alpha in (float(a) for a in args.alphas.split(",")):
            path = Path(tmp) / f"blend-{alpha:g}.safetensors"
            save_file(blend(args.weights, args.other, alpha), str(path))
            upscaler = upscaler_from_run(path)

            def run(lr: np.ndarray, scale: int, upscaler: pipeline.Upscaler = upscaler) -> np.ndarray:
                return pipeline.enhance(lr, upscaler, scale).pixels

            psnr = evaluate(run, set5, 4).mean_psnr
            ratios = [detail_ratio(run(lr.astype(np.float32) / 255, 4), hr, 4) for hr, lr in crops]
            print(f"| {alpha:g} | {psnr:.2f} | {np.mean(ratios):.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
