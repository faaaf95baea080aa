"""Pixel Recursive sampling: the fast (cached window) sampler vs naive re-evaluation.

    python bench/pixel_recursive_speed.py [--tiles 4]

Uses the shipped faces model when installed, else a randomly initialised model
of the same architecture (speed does not depend on the weights). Checks the
two samplers agree, then prints samples per second and the speed-up (goal >= 10x).
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from srdesk.models.pixel_recursive import PixelRecursiveSR, draw_uniforms, sample_fast, sample_naive


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tiles", type=int, default=4, help="8x8 inputs sampled together")
    args = parser.parse_args()
    from srdesk.training.pr_trainer import PRConfig, build_model

    model: PixelRecursiveSR = build_model(PRConfig()).eval()
    lr = torch.rand(args.tiles, 3, 8, 8)
    uniforms = draw_uniforms((args.tiles, 3, 32, 32), seed=0)
    start = time.perf_counter()
    fast = sample_fast(model, lr, 0.8, uniforms)
    t_fast = time.perf_counter() - start
    start = time.perf_counter()
    naive = sample_naive(model, lr, 0.8, uniforms)
    t_naive = time.perf_counter() - start
    same = torch.equal(fast, naive)
    print(f"{args.tiles} samples of 32x32: naive {t_naive:.1f} s ({args.tiles / t_naive:.2f}/s), "
          f"fast {t_fast:.1f} s ({args.tiles / t_fast:.2f}/s), speed-up {t_naive / t_fast:.1f}x, identical: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
