"""How fast training batches with realistic degradations are made: the blur's FFT path, and worker processes.

    python -m bench.data_speed [--recipe photo-x4] [--photos ../shared/data/train/photos] [--crop N]
                               [--batch-size N] [--workers 0,2] [--batches 6]

The GPU recipes' batches (``photo-x4``: 64 crops of 256 px, the shipped models' mix: 30 % clean, 70 % of the
rest by the camera path, the rest by the second-order pipeline at strength 0.5; all taken from the recipe) are
made on the CPU while the GPU trains, and on the first GPU call they were what the GPU waited for (0.6 s a
batch on one core; the GPU took ~0.15 s a step). Prints, in one run: seconds per batch on one core with every
blur convolved directly against the FFT path for large kernels (srdesk.training.degrade.FFT_KERNEL_SIZE), and
batches per second with each number of worker processes (``PhotoCrops(workers=N)``; 0 = made in place). The
photos are read once, a few of them (``--max-photos``) to keep memory and start-up small.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from bench.common import machine, median_time
from srdesk.training import degrade
from srdesk.training.data import PhotoCrops, list_images
from srdesk.training.recipes import recipe_config
from srdesk.training.sr_trainer import training_degradation

DEFAULT_PHOTOS = Path(__file__).resolve().parents[2] / "shared/data/train/photos"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS)
    parser.add_argument("--max-photos", type=int, default=8)
    parser.add_argument("--recipe", default="photo-x4", help="the GPU recipe whose batches are made")
    parser.add_argument("--crop", type=int, default=None, help="(default: the recipe's)")
    parser.add_argument("--batch-size", type=int, default=None, help="(default: the recipe's)")
    parser.add_argument("--workers", default="0,2")
    parser.add_argument("--batches", type=int, default=6)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(machine())
    paths = list_images(args.photos)[: args.max_photos]
    config = recipe_config(args.recipe, Path(), Path(), 0.0)
    crop, batch_size, scale = args.crop or config.crop, args.batch_size or config.batch_size, config.scale
    mix = training_degradation(config)
    assert mix is not None, f"{args.recipe} trains on clean reductions: no degradation to time"

    hr = torch.rand(batch_size, 3, crop, crop, generator=torch.Generator().manual_seed(0))
    clean = torch.zeros(batch_size, 3, crop // scale, crop // scale)

    def one_batch() -> None:
        degrade.degrade_batch(hr, mix, np.random.default_rng(0), clean=clean)

    fft_size = degrade.FFT_KERNEL_SIZE
    degrade.FFT_KERNEL_SIZE = 10**6
    direct = median_time(one_batch)
    degrade.FFT_KERNEL_SIZE = fft_size
    fft = median_time(one_batch)
    print(f"degradation of one batch ({batch_size} x {crop} px), one core: direct {direct:.2f} s, "
          f"FFT from {fft_size} taps {fft:.2f} s ({direct / fft:.2f}x)")

    rates = {}
    for workers in (int(w) for w in args.workers.split(",")):
        crops = PhotoCrops(paths, crop, scale, seed=0, degradation=mix, workers=workers,
                           rescale_prob=config.rescale_prob, rescale_min=config.rescale_min)
        crops.batch(batch_size)  # workers started, the first batch made
        start = time.perf_counter()
        for _ in range(args.batches):
            crops.batch(batch_size)
        rates[workers] = args.batches / (time.perf_counter() - start)
        del crops
        print(f"workers {workers}: {rates[workers]:.2f} batches/s"
              + (f" ({rates[workers] / rates[0]:.2f}x in place)" if 0 in rates and workers else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
