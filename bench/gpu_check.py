"""The CUDA path, checked on a real GPU: equal results, speed, memory, and the out-of-memory fallback.

    bench/gpu_check.sh        (on a machine with an NVIDIA GPU; prints the README's CUDA rows)

1. CUDA fp32 and fp16 outputs of the default model against the CPU's float32, on a Set5-like photo:
   the largest difference in 8-bit levels (must be <= 1).
2. Time per input megapixel (fp32, fp16, and the CPU for the ratio) and peak GPU memory, on a 1 MP input
   (the second run at that size, end to end: tiles, transfers and the merge on the CPU included).
3. A forced small memory cap (torch.cuda.set_per_process_memory_fraction) on the 1 MP input, whose one
   tile needs far more (a small crop can fit in the cap: seen on an H200): the run must finish through
   smaller tiles and/or the CPU copy, say so in its notes, and equal the uncapped result within 1 level.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def main() -> int:
    import torch

    from srdesk.core.request import EnhanceRequest
    from srdesk.engine import pipeline
    from srdesk.models import registry

    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=registry.DEFAULT_MODEL)
    parser.add_argument("--megapixels", type=float, default=1.0)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA GPU: nothing to check", file=sys.stderr)
        return 2
    print(f"GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    rng = np.random.default_rng(0)
    side = int(np.sqrt(args.megapixels * 1e6))
    small = rng.random((side // 8, side // 8, 3)).astype(np.float32)
    image = np.kron(small, np.ones((8, 8, 1), np.float32))[:side, :side]  # smooth blocks with edges
    image = np.clip(image + rng.normal(0, 0.02, image.shape).astype(np.float32), 0, 1)
    crop = np.ascontiguousarray(image[:192, :192])

    def run(device: str, precision: str, pixels: np.ndarray) -> tuple[np.ndarray, float, list[str]]:
        request = EnhanceRequest(model=args.model, scale=4, device=device, precision=precision)
        pipeline.run(request, pixels[:64, :64])  # warm-up (cuDNN autotuning, allocator)
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        out = pipeline.run(request, pixels)[0]
        if device == "cuda":
            torch.cuda.synchronize()
        return out.pixels, time.perf_counter() - start, out.meta.notes

    def levels(a: np.ndarray, b: np.ndarray) -> int:
        return int(np.abs(np.round(a * 255).astype(int) - np.round(b * 255).astype(int)).max())

    ok = True
    cpu, _cpu_s, _ = run("cpu", "exact", crop)
    for precision in ("exact", "auto"):
        cuda, _, _ = run("cuda", precision, crop)
        diff = levels(cuda, cpu)
        ok &= diff <= 1
        print(f"CUDA {'fp32' if precision == 'exact' else 'auto (fp16 where the card allows)'} vs CPU fp32: "
              f"max difference {diff} level(s) of 255 {'OK' if diff <= 1 else 'FAIL'}")
    mp = image.shape[0] * image.shape[1] / 1e6
    rows = []
    outputs = {}
    for precision in ("exact", "auto"):
        torch.cuda.reset_peak_memory_stats()
        run("cuda", precision, image)  # first run at this size: cuDNN picks its kernels
        outputs[precision], seconds, _ = run("cuda", precision, image)
        peak = torch.cuda.max_memory_allocated() / 2**20
        rows.append((precision, seconds / mp, peak))
    _, cpu_seconds, _ = run("cpu", "auto", crop)
    cpu_per_mp = cpu_seconds / (crop.shape[0] * crop.shape[1] / 1e6)
    print("| device | precision | s per input MP | peak GPU memory | speed vs CPU |")
    print("|---|---|---|---|---|")
    for precision, per_mp, peak in rows:
        print(f"| CUDA | {'fp32' if precision == 'exact' else 'auto'} | {per_mp:.3f} | {peak:.0f} MiB | "
              f"{cpu_per_mp / per_mp:.0f}x |")
    print(f"| CPU | auto | {cpu_per_mp:.2f} | - | 1x |")
    reference = outputs["exact"]
    total = torch.cuda.get_device_properties(0).total_memory
    torch.cuda.set_per_process_memory_fraction(min(1.0, 64 * 2**20 / total))  # 64 MiB
    pipeline.clear_model_cache()
    try:
        capped, _, notes = run("cuda", "exact", image)
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
    diff = levels(capped, reference)
    fell_back = any("GPU ran out of memory" in n for n in notes)
    ok &= diff <= 1 and fell_back
    print(f"64 MiB cap: notes {notes}; max difference {diff} level(s) {'OK' if diff <= 1 and fell_back else 'FAIL'}")
    print("GPU check", "passed" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
