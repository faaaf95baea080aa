"""A figure of training inputs: ground-truth crops and what the realistic degradation makes of them.

    python bench/degraded_crops.py [--strength 0.6] [--out docs/degraded-crops.png]

Each row: a 128 px ground-truth crop from a training photo, then two independent draws of the
second-order degradation and two of the first-order camera path (x4 smaller, shown enlarged with
nearest neighbour so every pixel is visible), then the plain bicubic reduction for comparison.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from srdesk.training.data import PhotoCrops, list_images
from srdesk.training.degrade import Degradation, degrade_batch

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=Path, default=REPO.parent / "shared/data/train/photos")
    parser.add_argument("--strength", type=float, default=0.6)
    parser.add_argument("--rows", type=int, default=4)
    parser.add_argument("--out", type=Path, default=REPO / "docs/degraded-crops.png")
    args = parser.parse_args()
    paths = list_images(args.photos)[::6]
    crops = PhotoCrops(paths, 128, 4, seed=7)
    _clean, candidates = crops.make_batch(0, 48)
    # show crops with something in them (random crops are often sky): the most detailed ones
    detail = (candidates[:, :, 1:] - candidates[:, :, :-1]).abs().mean(dim=(1, 2, 3))
    hr = candidates[detail.argsort(descending=True)[: args.rows]]
    config = Degradation(scale=4).milder(args.strength)
    rng = np.random.default_rng(11)
    camera = dataclasses.replace(config, camera_prob=1.0)
    draws = [degrade_batch(hr, config, rng) for _ in range(2)] + [degrade_batch(hr, camera, rng) for _ in range(2)]
    clean = torch.nn.functional.interpolate(hr, scale_factor=0.25, mode="bicubic", antialias=True).clamp(0, 1)
    gap = 6
    tile = 128
    width = 6 * tile + 5 * gap
    canvas = np.full((args.rows * tile + (args.rows - 1) * gap, width, 3), 255, np.uint8)

    def place(image: torch.Tensor, row: int, col: int) -> None:
        pixels = (image.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        if pixels.shape[0] != tile:
            pixels = np.kron(pixels, np.ones((tile // pixels.shape[0], tile // pixels.shape[1], 1), np.uint8))
        y, x = row * (tile + gap), col * (tile + gap)
        canvas[y : y + tile, x : x + tile] = pixels

    for row in range(args.rows):
        place(hr[row], row, 0)
        for k, draw in enumerate(draws):
            place(draw[row], row, 1 + k)
        place(clean[row], row, 5)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(canvas).save(args.out)
    print(f"wrote {args.out}: ground truth | 2 second-order degradations (strength {args.strength}) | "
          "2 camera-path degradations | bicubic only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
