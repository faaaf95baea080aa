"""CPU inference backends for a learned model, one run: srdesk's eager path against torch.compile and ONNX Runtime.

    python -m bench.backends [--model photo-x4] [--size 256] [--threads 2]

Every backend gets the same weights, input and threads; each output is checked against the eager float32
one (max difference in 8-bit levels). Rule (performance issue): a backend replaces eager only if it is
more than 15 % faster at equal output (within 1/255). ONNX Runtime and onnx are bench-only packages
(`pip install onnxruntime onnx`); torch.compile needs a C++ compiler.
"""

from __future__ import annotations

import argparse
import io
import sys
import time

import numpy as np
import torch

from bench.common import machine, median_time
from srdesk.models import registry
from srdesk.models.base import TorchUpscaler


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=registry.DEFAULT_MODEL)
    parser.add_argument("--size", type=int, default=256, help="square input tile, pixels")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(machine(), f"threads {args.threads}; model {args.model}; input {args.size}x{args.size}")
    upscaler = registry.load(args.model, "cpu", "exact")
    assert isinstance(upscaler, TorchUpscaler)
    module = upscaler.module.float().to(memory_format=torch.contiguous_format)
    x = torch.rand(1, 3, args.size, args.size)
    rows: list[tuple[str, float, float]] = []

    def eager(layout: torch.memory_format, bf16: bool = False):
        net = module.to(memory_format=layout)  # type: ignore[call-overload]
        inp = x.contiguous(memory_format=layout)

        def run() -> torch.Tensor:
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                return net(inp).float()

        return run

    reference = eager(torch.contiguous_format)()
    candidates = {
        "eager float32 NCHW": eager(torch.contiguous_format),
        "eager float32 channels_last (srdesk 'exact')": eager(torch.channels_last),
    }
    if registry.cpu_has_native_bf16():
        candidates["eager bf16 channels_last (srdesk 'auto')"] = eager(torch.channels_last, bf16=True)
    try:
        net = module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        compiled = torch.compile(net, dynamic=False)
        inp = x.contiguous(memory_format=torch.channels_last)
        start = time.perf_counter()
        with torch.inference_mode():
            compiled(inp)
        print(f"torch.compile: first call (compilation) {time.perf_counter() - start:.1f} s")

        def run_compiled() -> torch.Tensor:
            with torch.inference_mode():
                return compiled(inp).float()

        candidates["torch.compile float32 channels_last"] = run_compiled
    except Exception as exc:  # the bench reports what is unavailable and goes on
        print(f"torch.compile unavailable: {exc.__class__.__name__}: {str(exc)[:200]}")
    try:
        import onnxruntime as ort

        buffer = io.BytesIO()
        torch.onnx.export(module.to(memory_format=torch.contiguous_format), (x,), buffer, dynamo=False,
                          input_names=["lr"], output_names=["hr"], opset_version=17,
                          dynamic_axes={"lr": {2: "h", 3: "w"}, "hr": {2: "H", 3: "W"}})
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])
        feed = {"lr": x.numpy()}
        candidates["ONNX Runtime float32"] = lambda: torch.from_numpy(session.run(None, feed)[0])
    except Exception as exc:
        print(f"ONNX Runtime unavailable: {exc.__class__.__name__}: {str(exc)[:200]}")
    base = None
    for name, fn in candidates.items():
        out = fn()
        levels = float((out.clamp(0, 1) - reference.clamp(0, 1)).abs().max()) * 255
        seconds = median_time(fn, repeats=3)
        base = base or seconds
        rows.append((name, seconds, levels))
        print(f"| {name} | {seconds:.3f} s | {base / seconds:.2f}x | max diff {levels:.2f}/255 |", flush=True)
    best = min(rows[1:], key=lambda r: r[1])
    exact = rows[1][1]
    print(f"fastest besides NCHW: {best[0]} ({exact / best[1]:.2f}x srdesk's float32 path)")
    return 0 if np.isfinite(best[1]) else 1


if __name__ == "__main__":
    sys.exit(main())
