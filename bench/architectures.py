"""SRResNet 16x64 against the SPAN-style 48x6 network: training step and inference time, one run, same threads.

    python -m bench.architectures [--threads 1]

Training: one Adam step on a batch of 16 crops of 96 px (HR), bf16 autocast as the trainer uses it.
Inference: srdesk's TorchUpscaler on a 256x256 input, float32 and bf16, x4 and x2 (the shipped photo models'
weights where their card names the architecture, random weights otherwise: time does not depend on them).
"""

from __future__ import annotations

import argparse
import sys

import torch

from bench.common import median_time
from srdesk.models.base import TorchUpscaler
from srdesk.models.registry import cpu_has_native_bf16
from srdesk.models.span import SPAN
from srdesk.models.srresnet import SRResNet


def networks(scale: int) -> dict[str, torch.nn.Module]:
    return {"SRResNet 16x64": SRResNet(scale, 16, 64, batch_norm=False, image_skip=True),
            "SPAN-style 48x6": SPAN(scale, 6, 48)}


def train_step_seconds(net: torch.nn.Module, scale: int) -> float:
    lr, hr = torch.rand(16, 3, 96 // scale, 96 // scale), torch.rand(16, 3, 96, 96)
    optimizer = torch.optim.Adam(net.parameters())

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cpu_has_native_bf16()):
            out = net(lr)
        loss = (out.float() - hr).abs().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    step()
    return median_time(step, repeats=3)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    x = torch.rand(1, 3, 256, 256)
    print(f"threads {args.threads}; bf16 native: {cpu_has_native_bf16()}")
    print("| scale | network | parameters | train step (s) | 256x256 fp32 (s) | 256x256 bf16 (s) |")
    print("|---|---|---|---|---|---|")
    for scale in (4, 2):
        times = {}
        for name, net in networks(scale).items():
            params = sum(p.numel() for p in net.parameters())
            train = train_step_seconds(net.train(), scale)
            row = []
            for bf16 in (False, True):
                upscaler = TorchUpscaler(name, net, scale, torch.device("cpu"), cpu_bf16=bf16)
                upscaler.run(x[:, :, :32, :32])
                row.append(median_time(lambda u=upscaler: u.run(x), repeats=3))
            times[name] = row[1]
            print(f"| x{scale} | {name} | {params / 1e6:.2f} M | {train:.2f} | {row[0]:.2f} | {row[1]:.2f} |",
                  flush=True)
        names = list(times)
        print(f"x{scale}: {names[1]} infers {times[names[0]] / times[names[1]]:.1f}x faster (bf16)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
