"""Two installed models in a row: the first one's result reduced again and enlarged by the second.

    python -m bench.two_pass [--first photo-x4] [--second clean-x4] [--datasets Set14,BSD68] [--kinds real]

A model for damaged photos removes noise and JPEG blocks and hedges on fine detail; reduced again (MATLAB
bicubic, the benchmark's own reduction) its result is a clean picture, which a model for clean images enlarges
best. This builds that pair as one network (models.span.SPAN with ``second_pass``, each pass from its card's
weights; the trainer's ``--second-pass`` trains such a pair further) and prints Y-PSNR / SSIM / detail / NIQE
for the first model alone and for the pair, and the seconds each takes for a 0.25 MP input (one thread).
Both models must be SPANs of the same size and scale.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from bench.degradation_sweep import sweep
from srdesk.core.evaluate import benchmark_files
from srdesk.engine import pipeline
from srdesk.models import registry
from srdesk.models.base import TorchUpscaler
from srdesk.models.weights import load_verified


def two_pass_upscaler(first: str, second: str) -> TorchUpscaler:
    state, card = load_verified(first)
    second_state, second_card = load_verified(second)
    params = dict(card.architecture)
    if params.get("arch") != "span" or dict(second_card.architecture) != params:
        raise SystemExit(f"{first} and {second} are not SPANs of one size and scale")
    params["second_pass"] = True
    arch = registry.architecture("span")
    module = arch.build(params)
    module.load_state_dict(state | {f"second.{k}": v for k, v in second_state.items()})
    return TorchUpscaler(f"{first}>{second}", module, int(params["scale"]), torch.device("cpu"),
                         receptive_radius=arch.receptive_radius(params),
                         bytes_per_input_pixel=arch.bytes_per_input_pixel(params))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--first", default="photo-x4")
    parser.add_argument("--second", default="clean-x4")
    parser.add_argument("--benchmarks", type=Path, default=Path("../shared/data/benchmarks"))
    parser.add_argument("--datasets", default="Set14,BSD68")
    parser.add_argument("--kinds", default="real")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    pair = two_pass_upscaler(args.first, args.second)
    methods = {args.first: pipeline.get_upscaler(args.first, "cpu", "exact"), pair.name: pair}
    print("method | " + " | ".join(f"{d} {k}" for d in args.datasets.split(",") for k in args.kinds.split(","))
          + " | seconds for 0.25 MP  (Y-PSNR dB / SSIM / detail / NIQE)")
    photo = np.random.default_rng(0).random((500, 500, 3), dtype=np.float32)
    for name, upscaler in methods.items():
        cells = []
        for dataset in args.datasets.split(","):
            files = benchmark_files(args.benchmarks / dataset)
            for kind in args.kinds.split(","):
                r = sweep(upscaler, files, pair.scale, kind)
                cells.append(f"{r.mean_psnr:.2f} / {r.mean_ssim:.4f} / {r.mean_detail:.2f} / {r.mean_niqe:.1f}")
        start = time.perf_counter()
        pipeline.enhance(photo, upscaler, pair.scale, precision="exact", threads=1)
        print(f"{name} | " + " | ".join(cells) + f" | {time.perf_counter() - start:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
