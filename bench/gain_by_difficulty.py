"""Where a model gains over a reference: per-image Y-PSNR gain, by quarters of the reference's own PSNR.

    python -m bench.gain_by_difficulty [--model photo-x4] [--reference bicubic] [--dataset BSD68]
                                       [--degradation real] [--scale 4]

Images a method reconstructs badly (low PSNR: fine texture, foliage, fur) are where lost detail has to be
rebuilt; smooth ones gain from removing noise and JPEG blocks alone. A mean gain hides which of the two a
model does, this table shows it (one evaluation of each method, the benchmark protocol of ``srdesk-cli eval``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from srdesk.engine.evaluation import evaluate_model

DATA = Path(__file__).resolve().parents[2] / "shared/data/benchmarks"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="photo-x4")
    parser.add_argument("--reference", default="bicubic")
    parser.add_argument("--dataset", default="BSD68")
    parser.add_argument("--degradation", default="real", choices=("clean", "real"))
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    scores = {}
    for name in (args.reference, args.model):
        result = evaluate_model(name, args.data / args.dataset, args.scale, args.degradation, device="cpu")
        scores[name] = {image.name: image.psnr for image in result.images}
    names = sorted(scores[args.reference])
    reference = np.array([scores[args.reference][n] for n in names])
    gain = np.array([scores[args.model][n] for n in names]) - reference
    print(f"{args.model} over {args.reference}, {args.dataset} x{args.scale} {args.degradation}: mean gain "
          f"{gain.mean():+.3f} dB, median {np.median(gain):+.3f}, below the reference on {(gain < 0).sum()} of "
          f"{len(gain)} images")
    print(f"| quarter (by {args.reference}'s PSNR) | {args.reference} (dB) | gain (dB) |\n|---|---|---|")
    for k, part in enumerate(np.array_split(np.argsort(reference), 4)):
        label = ("hardest", "second", "third", "easiest")[k]
        print(f"| {label} | {reference[part].mean():.2f} | {gain[part].mean():+.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
