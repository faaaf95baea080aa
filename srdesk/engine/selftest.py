"""`srdesk --self-test`: prove an installation (or a frozen bundle) works, headless.

For every installed method: reduce the bundled sample photo 4x, enlarge it
back with the method, and check the result's size and that it is not blank.
A learned model whose card records a ``selftest`` number must reproduce it on
a fixed crop (float32, within CARD_TOLERANCE_DB): wrong weights, a broken
build or changed numerics show up there; every other method must be closer to
the original than nearest-neighbour (which every real enlarger must beat). Prints one
line per model; exit status 0 when all pass.
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
CARD_CROP = 192  # the centre of the sample photo, as ground truth
CARD_TOLERANCE_DB = 0.05


def card_crop_psnr(name: str, sample: Path | None = None) -> float:
    """Y-PSNR of ``name`` (float32, CPU) on the sample photo's centre crop, x4 MATLAB bicubic reduction."""
    from srdesk.core.resources import sample_photo

    pixels = imageio.load(sample or sample_photo()).pixels
    top, left = (pixels.shape[0] - CARD_CROP) // 2, (pixels.shape[1] - CARD_CROP) // 2
    crop = np.clip(np.round(pixels[top : top + CARD_CROP, left : left + CARD_CROP] * 255), 0, 255).astype(np.uint8)
    hr, lr = make_pair(crop, SCALE)
    out = pipeline.enhance(lr.astype(np.float32) / 255, name, SCALE, device="cpu", precision="exact").pixels
    return score(out, hr, SCALE)[0]


def card_record(name: str) -> dict[str, object]:
    """What export writes into a card's ``selftest`` section."""
    return {"input": f"resources/sample-osprey.jpg, centre {CARD_CROP}x{CARD_CROP}, x{SCALE} MATLAB bicubic",
            "psnr": round(float(card_crop_psnr(name)), 3)}


def check_card(name: str) -> tuple[bool, str]:
    """Whether the model reproduces its card's self-test number (True with no detail when it has none)."""
    from srdesk.models import registry

    card = registry.get(name).card()
    recorded = (card.extra.get("selftest") or {}).get("psnr") if card is not None else None
    if recorded is None:
        return True, ""
    measured = card_crop_psnr(name)
    if abs(measured - float(recorded)) > CARD_TOLERANCE_DB:
        return False, f"{measured:.3f} dB on the card's crop, but its card says {recorded:.3f} dB"
    return True, f"its card's {CARD_CROP} px crop {measured:.3f} dB, as recorded ({float(recorded):.3f})"


def check_model(name: str, hr: np.ndarray, lr: np.ndarray, nearest_psnr: float) -> tuple[bool, str]:
    start = time.perf_counter()
    out = pipeline.enhance(lr.astype(np.float32) / 255, name, SCALE).pixels
    seconds = time.perf_counter() - start
    if out.shape[:2] != hr.shape[:2]:
        return False, f"wrong size {out.shape[1]}x{out.shape[0]}"
    if float(out.std()) < 0.01:
        return False, "blank output"
    psnr, ssim = score(out, hr, SCALE)
    card_ok, card_detail = check_card(name)
    if not card_ok:
        return False, card_detail
    # A model with a card number is held to that (stricter); the rest must at least beat nearest. (Models
    # for real photos expect noise and blur: on this clean reduction they need not beat nearest.)
    if not card_detail and name != "nearest" and psnr <= nearest_psnr:
        return False, f"{psnr:.2f} dB is not better than nearest ({nearest_psnr:.2f} dB)"
    summary = f"whole photo {psnr:.2f} dB, SSIM {ssim:.3f}, {seconds:.2f} s"
    return True, summary + (f"; {card_detail}" if card_detail else "")


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
    # the raw draws (consistent=False): the projection onto the input would hide broken weights
    sample = pipeline.enhance_samples(crop.astype(np.float32) / 255, name, SCALE, samples=1, temperature=0.8,
                                      consistent=False)[0].pixels
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
