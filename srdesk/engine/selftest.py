"""`srdesk --self-test`: prove an installation (or a frozen bundle) works, headless.

For every installed method: reduce the bundled sample photo 4x, enlarge it
back with the method, and check the result's size, that it is not blank, and
that it is closer to the original than nearest-neighbour (which every real
enlarger must beat). Prints one line per model; exit status 0 when all pass.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from srdesk.core import imageio
from srdesk.core.evaluate import make_pair, score
from srdesk.engine import pipeline

SCALE = 4


def check_model(name: str, hr: np.ndarray, lr: np.ndarray, nearest_psnr: float) -> tuple[bool, str]:
    start = time.perf_counter()
    out = pipeline.enhance(lr.astype(np.float32) / 255, name, SCALE).pixels
    seconds = time.perf_counter() - start
    if out.shape[:2] != hr.shape[:2]:
        return False, f"wrong size {out.shape[1]}x{out.shape[0]}"
    if float(out.std()) < 0.01:
        return False, "blank output"
    psnr, ssim = score(out, hr, SCALE)
    if name != "nearest" and psnr <= nearest_psnr:
        return False, f"{psnr:.2f} dB is not better than nearest ({nearest_psnr:.2f} dB)"
    return True, f"{psnr:.2f} dB, SSIM {ssim:.3f}, {seconds:.2f} s"


def check_sampler(name: str, hr: np.ndarray, lr: np.ndarray) -> tuple[bool, str]:
    """Sampling models draw pixel by pixel (slow): a 32x32 crop, checked for consistency with its input.

    A sample reduced back to the input size must match the input far better
    than a flat grey image does (broken weights give noise or a flat colour).
    """
    from srdesk.core.metrics import psnr_y
    from srdesk.core.resample import matlab_bicubic

    top, left = (lr.shape[0] - 32) // 2, (lr.shape[1] - 32) // 2
    crop = lr[max(0, top) : max(0, top) + 32, max(0, left) : max(0, left) + 32]
    start = time.perf_counter()
    sample = pipeline.enhance_samples(crop.astype(np.float32) / 255, name, SCALE, samples=1, temperature=0.8)[0].pixels
    seconds = time.perf_counter() - start
    if sample.shape[:2] != (crop.shape[0] * SCALE, crop.shape[1] * SCALE):
        return False, f"wrong size {sample.shape[1]}x{sample.shape[0]}"
    reduced = np.clip(np.round(matlab_bicubic(sample.astype(np.float64), crop.shape[:2]) * 255), 0, 255)
    consistency = psnr_y(reduced.astype(np.uint8), crop)
    flat = psnr_y(np.full_like(crop, 128), crop)
    if consistency < flat + 6:
        return False, f"a sample reduced back matches its input at {consistency:.1f} dB only (flat grey: {flat:.1f})"
    return True, f"sample consistent with its input at {consistency:.1f} dB, {seconds:.1f} s for a 32x32 crop"


def run(sample: Path, out: Callable[[str], None] = print) -> int:
    from srdesk.models import registry

    image = imageio.load(sample)
    hr8 = np.clip(np.round(image.pixels * 255), 0, 255).astype(np.uint8)
    hr, lr = make_pair(hr8, SCALE)
    nearest_psnr, _ = score(pipeline.enhance(lr.astype(np.float32) / 255, "nearest", SCALE).pixels, hr, SCALE)
    failures = 0
    for entry in registry.entries():
        if not entry.installed():
            out(f"SKIP {entry.name}: not installed")
            continue
        try:
            if entry.sampler:
                ok, detail = check_sampler(entry.name, hr, lr)
            else:
                ok, detail = check_model(entry.name, hr, lr, nearest_psnr)
        except Exception as exc:  # report every model, whatever breaks
            ok, detail = False, f"{exc.__class__.__name__}: {exc}"
        failures += not ok
        out(f"{'PASS' if ok else 'FAIL'} {entry.name}: {detail}")
    out(f"self-test {'passed' if not failures else f'FAILED ({failures})'}")
    return 0 if not failures else 1


def main() -> int:
    from srdesk.core.resources import sample_photo

    return run(sample_photo())


if __name__ == "__main__":
    sys.exit(main())
