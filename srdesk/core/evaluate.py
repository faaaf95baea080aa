"""The super-resolution benchmark protocol, independent of how images are enlarged.

For each ground-truth image: crop both sides to a multiple of ``scale``,
reduce it with MATLAB's bicubic ``imresize`` (antialiased) and quantise to
8 bits, enlarge with the method under test, quantise, and compare on the Y
channel with ``scale`` border pixels shaved (see :mod:`srdesk.core.metrics`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from srdesk.core.metrics import psnr_y, ssim_y, to_uint8
from srdesk.core.resample import matlab_bicubic

Upscaler = Callable[[np.ndarray, int], np.ndarray]
"""(LR image float32 HxWx3 in [0, 1], scale) -> enlarged float image."""

BENCHMARK_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff")


@dataclass
class ImageScore:
    name: str
    psnr: float
    ssim: float


@dataclass
class EvalResult:
    dataset: str
    scale: int
    mean_psnr: float
    mean_ssim: float
    images: list[ImageScore]

    def to_dict(self) -> dict:
        return asdict(self)


def load_ground_truth(path: Path) -> np.ndarray:
    """8-bit RGB (grayscale benchmark images are converted, as the protocol says)."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


def make_pair(hr: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """(cropped 8-bit HR, 8-bit LR) of the protocol."""
    h, w = hr.shape[0] // scale * scale, hr.shape[1] // scale * scale
    hr = hr[:h, :w]
    lr = to_uint8(matlab_bicubic(hr.astype(np.float64) / 255.0, (h // scale, w // scale)))
    return hr, lr


def score(sr: np.ndarray, hr: np.ndarray, scale: int) -> tuple[float, float]:
    sr8 = to_uint8(sr)
    return psnr_y(sr8, hr, shave=scale), ssim_y(sr8, hr, shave=scale)


def benchmark_files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in BENCHMARK_SUFFIXES)


def evaluate(upscale: Upscaler, files: Iterable[Path], scale: int, dataset: str = "") -> EvalResult:
    rows = []
    for path in files:
        hr, lr = make_pair(load_ground_truth(path), scale)
        sr = upscale(lr.astype(np.float32) / 255.0, scale)
        if sr.shape[:2] != hr.shape[:2]:
            raise ValueError(f"{path.name}: enlarged to {sr.shape[:2]}, expected {hr.shape[:2]}")
        p, s = score(sr, hr, scale)
        rows.append(ImageScore(path.stem, p, s))
    if not rows:
        raise ValueError(f"no benchmark images in {dataset or 'the dataset'}")
    return EvalResult(
        dataset=dataset,
        scale=scale,
        mean_psnr=float(np.mean([r.psnr for r in rows])),
        mean_ssim=float(np.mean([r.ssim for r in rows])),
        images=rows,
    )
