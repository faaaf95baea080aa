"""The super-resolution benchmark protocol, independent of how images are enlarged.

For each ground-truth image: crop both sides to a multiple of ``scale``,
reduce it with MATLAB's bicubic ``imresize`` (antialiased) and quantise to
8 bits, enlarge with the method under test, quantise, and compare on the Y
channel with ``scale`` border pixels shaved (see :mod:`srdesk.core.metrics`).

``degradation="real"`` makes the low-resolution input the way photos really
come instead (:func:`real_degradation`): mild optical blur, the reduction,
sensor noise and JPEG at web quality, with parameters drawn from a fixed seed
per image name, so every method and every run sees the same inputs. The
training sampler (srdesk.training.degrade) uses other kernels, other ranges
and its own seeds, so this is not the distribution models are trained on.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from srdesk.core.constants import DEGRADATIONS, TRAINING_SUFFIXES
from srdesk.core.metrics import detail_ratio, psnr_y, ssim_y, to_uint8
from srdesk.core.resample import matlab_bicubic

EnlargeFn = Callable[[np.ndarray, int], np.ndarray]
"""(LR image float32 HxWx3 in [0, 1], scale) -> enlarged float image."""
PairFn = Callable[[np.ndarray, int, str], tuple[np.ndarray, np.ndarray]]
"""(8-bit ground truth, scale, key) -> (cropped 8-bit HR, 8-bit LR), as :func:`make_pair`."""

BENCHMARK_SUFFIXES = TRAINING_SUFFIXES


@dataclass
class ImageScore:
    name: str
    psnr: float
    ssim: float
    detail: float = float("nan")
    niqe: float = float("nan")  # no-reference naturalness of the result (lower is more natural)


@dataclass
class EvalResult:
    dataset: str
    scale: int
    mean_psnr: float
    mean_ssim: float
    images: list[ImageScore]
    degradation: str = "clean"
    mean_detail: float = float("nan")
    mean_niqe: float = float("nan")

    def to_dict(self) -> dict:
        return asdict(self)


def load_ground_truth(path: Path) -> np.ndarray:
    """8-bit RGB (grayscale benchmark images are converted, as the protocol says)."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


REAL_DEGRADATION_SEED = 20261126


def real_degradation(hr: np.ndarray, scale: int, key: str, *, noise: bool = True, jpeg: bool = True) -> np.ndarray:
    """8-bit HR -> 8-bit LR as a real photo: blur, reduce, noise, JPEG (fixed parameters per ``key``).

    - optical blur: Gaussian, sigma uniform in [0.3, 1.0] HR pixels (a lens slightly out of its best);
    - MATLAB bicubic reduction by ``scale``;
    - sensor noise: Gaussian, luminance-dependent (shot) plus constant (read) part,
      sigma^2 = (a * I + b^2) with a in [0, 0.004] and b in [1, 4] levels, colour;
    - JPEG at quality uniform in [60, 85] (web and messenger photos), 4:2:0.

    ``noise`` / ``jpeg`` False leave that damage out with every other draw as it was (the same blur, noise
    field and quality): what each damage costs (``python -m bench.damage_ablation``).
    """
    rng = np.random.default_rng([REAL_DEGRADATION_SEED, zlib.crc32(key.encode())])
    image = hr.astype(np.float64) / 255.0
    image = lens_blur(image, rng.uniform(0.3, 1.0))
    h, w = hr.shape[0] // scale, hr.shape[1] // scale
    image = matlab_bicubic(image, (h, w))
    shot, read = rng.uniform(0.0, 0.004), rng.uniform(1.0, 4.0) / 255.0
    noise_sigma = np.sqrt(shot * np.clip(image, 0, 1) + read**2)
    field = rng.standard_normal(image.shape) * noise_sigma
    if noise:
        image = image + field
    quality = int(rng.integers(60, 86))
    if not jpeg:
        return to_uint8(image)
    return jpeg_round_trip(to_uint8(image), quality)


def lens_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur of ``sigma`` pixels, channel by channel (borders mirrored)."""
    import scipy.ndimage

    return np.stack([scipy.ndimage.gaussian_filter(image[..., c], sigma, mode="reflect")
                     for c in range(image.shape[2])], axis=2)


def jpeg_round_trip(pixels: np.ndarray, quality: int) -> np.ndarray:
    """8-bit RGB ``pixels`` saved as a JPEG at ``quality`` (Pillow's, 4:2:0) and decoded again."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("RGB"), dtype=np.uint8)


def crop_to_scale(hr: np.ndarray, scale: int) -> np.ndarray:
    """Both sides cut down to a multiple of ``scale`` (the protocol's first step)."""
    return hr[: hr.shape[0] // scale * scale, : hr.shape[1] // scale * scale]


def make_pair(hr: np.ndarray, scale: int, degradation: str = "clean", key: str = "") -> tuple[np.ndarray, np.ndarray]:
    """(cropped 8-bit HR, 8-bit LR) of the protocol; ``key`` seeds the ``real`` degradation."""
    if degradation not in DEGRADATIONS:
        raise ValueError(f"unknown degradation {degradation!r}; use one of {DEGRADATIONS}")
    hr = crop_to_scale(hr, scale)
    h, w = hr.shape[:2]
    if degradation == "real":
        return hr, real_degradation(hr, scale, key)
    lr = to_uint8(matlab_bicubic(hr.astype(np.float64) / 255.0, (h // scale, w // scale)))
    return hr, lr


def score(sr: np.ndarray, hr: np.ndarray, scale: int) -> tuple[float, float]:
    sr8 = to_uint8(sr)
    return psnr_y(sr8, hr, shave=scale), ssim_y(sr8, hr, shave=scale)


def benchmark_files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in BENCHMARK_SUFFIXES)


def image_score(name: str, sr: np.ndarray, hr: np.ndarray, scale: int) -> ImageScore:
    """Y-PSNR, SSIM, detail ratio and NIQE of one result (floats in [0, 1]) against its ground truth."""
    p, s = score(sr, hr, scale)
    sr8 = to_uint8(sr)
    return ImageScore(name, p, s, detail_ratio(sr8, hr, shave=scale), niqe_or_nan(sr8))


def evaluate(upscale: EnlargeFn, files: Iterable[Path], scale: int, dataset: str = "",
             degradation: str = "clean", pair: PairFn | None = None) -> EvalResult:
    """Scores of ``upscale`` on ``files``; ``pair`` makes the inputs instead of :func:`make_pair` (another
    degradation; ``degradation`` then only names it in the result)."""
    rows = []
    for path in files:
        key = f"{path.parent.name}/{path.name}"
        ground_truth = load_ground_truth(path)
        hr, lr = pair(ground_truth, scale, key) if pair else make_pair(ground_truth, scale, degradation, key)
        sr = upscale(lr.astype(np.float32) / 255.0, scale)
        if sr.shape[:2] != hr.shape[:2]:
            raise ValueError(f"{path.name}: enlarged to {sr.shape[:2]}, expected {hr.shape[:2]}")
        rows.append(image_score(path.stem, sr, hr, scale))
    if not rows:
        raise ValueError(f"no benchmark images in {dataset or 'the dataset'}")
    return EvalResult(
        dataset=dataset,
        scale=scale,
        mean_psnr=float(np.mean([r.psnr for r in rows])),
        mean_ssim=float(np.mean([r.ssim for r in rows])),
        images=rows,
        degradation=degradation,
        mean_detail=float(np.mean([r.detail for r in rows])),
        mean_niqe=float(np.nanmean([r.niqe for r in rows])) if any(np.isfinite(r.niqe) for r in rows) else float("nan"),
    )


def niqe_or_nan(image: np.ndarray) -> float:
    """NIQE of a uint8 image, or NaN where it is too small for the measure's patches."""
    from srdesk.core.niqe import PATCH, niqe

    return niqe(image) if min(image.shape[:2]) > 2 * PATCH else float("nan")
