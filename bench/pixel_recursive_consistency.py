"""Pixel Recursive samples on held-out faces: raw draws against the draws made consistent with their input, per tau.

    python -m bench.pixel_recursive_consistency [--faces 32] [--samples 2] [--taus 0.8,0.7,0.6,0.5]

Uses the shipped `pixel-recursive-faces-x4` and the identity-disjoint test split of ../shared/data/faces.
Prints pSNR (RGB) and SSIM (Y) against the truth, consistency (the sample reduced to 8x8 against the input, dB)
and diversity (RMS levels between samples of one input), next to bicubic. One thread (the sampler's best).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from srdesk.models import registry
from srdesk.models.pixel_recursive import sample_fast
from srdesk.models.sampling import enforce_consistency
from srdesk.models.weights import load_verified
from srdesk.training.pr_evaluate import bicubic_levels, draw_uniforms, image_scores, samples_summary
from srdesk.training.pr_trainer import load_faces

FACES = Path(__file__).resolve().parents[2] / "shared/data/faces"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--faces", type=int, default=32)
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--taus", default="0.8,0.7,0.6,0.5")
    args = parser.parse_args()
    torch.set_num_threads(1)
    state, card = load_verified("pixel-recursive-faces-x4")
    model = registry.architecture("pixel-recursive").build(card.architecture)
    model.load_state_dict(state)
    model.eval()
    lr, hr = load_faces(FACES, "test", 32, 4, limit=args.faces)
    print(f"{args.faces} test faces x {args.samples} samples; bicubic:",
          {k: round(v, 2) for k, v in image_scores(bicubic_levels(lr, 32), hr, lr).items()})
    print("| tau | draws | pSNR | SSIM | consistency (dB) | diversity (levels) |")
    print("|---|---|---|---|---|---|")
    for index, tau in enumerate(float(t) for t in args.taus.split(",")):
        batch = lr.repeat(args.samples, 1, 1, 1)
        start = time.perf_counter()
        with torch.inference_mode():
            levels = sample_fast(model, batch, tau, draw_uniforms((len(batch), 3, 32, 32), seed=1 + index))
        seconds = time.perf_counter() - start
        raw = levels.view(args.samples, args.faces, 3, 32, 32)
        consistent = torch.from_numpy(enforce_consistency(levels.numpy().astype(np.float64),
                                                          np.rint(batch.numpy() * 255))).view_as(raw)
        for name, drawn in (("raw", raw), ("consistent", consistent)):
            mean = samples_summary(drawn, hr, lr)
            print(f"| {tau:g} | {name} | {mean['psnr']:.2f} | {mean['ssim']:.3f} | {mean['consistency_db']:.1f} | "
                  f"{mean['diversity_rms_levels']:.1f} |", flush=True)
        print(f"(sampling took {seconds:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
