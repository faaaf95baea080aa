"""SRResNet x4 inference: srdesk's pipeline vs a plain eager PyTorch run of the same weights.

    python bench/speed_learned.py [--model srresnet-x4] [--threads N]

Prints, per input size, the plain time and srdesk's in exact float32 and in its
default "auto" precision (bfloat16 on CPUs with native bf16), their ratios
(>1: srdesk faster), and the fraction of the machine's measured convolution
FLOP rate that srdesk's float32 path reaches.
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np
import torch

from bench.common import machine, median_time
from srdesk.engine import pipeline
from srdesk.models import registry
from srdesk.models.base import TorchUpscaler


def conv_flops(model: torch.nn.Module, height: int, width: int) -> float:
    """Multiply-adds x 2 of every convolution for one (1, 3, H, W) input."""
    total = 0.0

    def hook(module: torch.nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        assert isinstance(module, torch.nn.Conv2d)
        k = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
        total += 2.0 * k * output.numel()

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.inference_mode():
        model(torch.zeros(1, 3, height, width))
    for h in handles:
        h.remove()
    return total


def machine_conv_rate() -> float:
    """FLOP/s of a large 3x3, 64->64 convolution in its faster memory layout (NCHW or NHWC):
    what this CPU can do on the model's main operation."""
    best = math.inf
    for layout in (torch.contiguous_format, torch.channels_last):
        conv = torch.nn.Conv2d(64, 64, 3, padding=1).eval().to(memory_format=layout)  # type: ignore[call-overload]
        x = torch.rand(1, 64, 256, 256).contiguous(memory_format=layout)
        with torch.inference_mode():
            best = min(best, median_time(lambda conv=conv, x=x: conv(x), repeats=5))
    return 2.0 * 9 * 64 * 64 * 256 * 256 / best


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="srresnet-x4")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--sizes", default="256x256,1024x768")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    upscaler = pipeline.get_upscaler(args.model, "cpu", "exact")
    fast = pipeline.get_upscaler(args.model, "cpu", "auto")
    assert isinstance(upscaler, TorchUpscaler) and isinstance(fast, TorchUpscaler) and upscaler.card is not None
    params = upscaler.card.architecture
    reference = registry.architecture(params["arch"]).build(params)
    reference.load_state_dict(upscaler.module.state_dict())
    reference.eval()
    rate = machine_conv_rate()
    auto_label = "bf16" if fast.cpu_bf16 else "fp32: no native bf16 here"
    print(f"machine: {machine()}; 3x3 conv rate {rate / 1e9:.1f} GFLOP/s; precision auto = {auto_label}")
    print("| input | plain eager (s) | srdesk exact (s) | speed-up | of conv rate | srdesk auto (s) | speed-up |")
    print("|---|---|---|---|---|---|---|")
    for size in args.sizes.split(","):
        width, height = (int(v) for v in size.split("x"))
        image = np.random.default_rng(0).random((height, width, 3)).astype(np.float32)
        tensor = torch.from_numpy(image.transpose(2, 0, 1)).unsqueeze(0)

        def plain(tensor: torch.Tensor = tensor) -> None:
            with torch.no_grad():
                reference(tensor).clamp(0, 1).squeeze(0).permute(1, 2, 0).numpy()

        def ours(image: np.ndarray = image, chosen: TorchUpscaler = upscaler) -> None:
            pipeline.enhance(image, chosen, 4)

        t_plain = median_time(plain, repeats=2)
        t_ours = median_time(ours, repeats=2)
        t_fast = median_time(lambda: ours(chosen=fast), repeats=2)
        flops = conv_flops(reference, height, width)
        print(f"| {width}x{height} | {t_plain:.2f} | {t_ours:.2f} | {t_plain / t_ours:.2f}x "
              f"| {flops / t_ours / rate:.0%} | {t_fast:.2f} | {t_plain / t_fast:.2f}x |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
