"""PSNR and SSIM the way the super-resolution literature reports them.

Protocol (SRCNN, SRGAN, EDSR...): images as 8-bit values, luminance Y of
ITU-R BT.601 YCbCr (16-235), ``shave`` pixels removed from every border,
PSNR with peak 255, SSIM of Wang et al. 2004 (11x11 Gaussian window,
sigma 1.5, K1 = 0.01, K2 = 0.03) over the valid region.
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage

from srdesk.core.errors import InvalidParameter


def to_uint8(image: np.ndarray) -> np.ndarray:
    """[0, 1] floats to 8-bit values, clipped and rounded (as a saved PNG would be)."""
    return np.clip(np.round(np.asarray(image, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)


def rgb_to_y(image: np.ndarray) -> np.ndarray:
    """BT.601 luma in [16, 235] from 8-bit RGB (or pass a single channel through)."""
    x = np.asarray(image, dtype=np.float64)
    if x.ndim == 2:
        return x
    if x.shape[2] == 1:
        return x[:, :, 0]
    return 16.0 + (65.481 * x[:, :, 0] + 128.553 * x[:, :, 1] + 24.966 * x[:, :, 2]) / 255.0


def _prepare(a: np.ndarray, b: np.ndarray, shave: int) -> tuple[np.ndarray, np.ndarray]:
    if a.shape[:2] != b.shape[:2]:
        raise InvalidParameter(f"images differ in size: {a.shape[:2]} vs {b.shape[:2]}")
    ya, yb = rgb_to_y(a), rgb_to_y(b)
    if shave:
        ya, yb = ya[shave:-shave, shave:-shave], yb[shave:-shave, shave:-shave]
    return ya, yb


def psnr_y(result: np.ndarray, reference: np.ndarray, shave: int = 0) -> float:
    """Y-channel PSNR in dB of two 8-bit images (uint8 arrays, HxWx3 or HxW)."""
    ya, yb = _prepare(result, reference, shave)
    mse = float(np.mean((ya - yb) ** 2))
    if mse == 0:
        return float("inf")
    return 10.0 * np.log10(255.0**2 / mse)


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    x = np.arange(size) - (size - 1) / 2
    g = np.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def ssim_y(result: np.ndarray, reference: np.ndarray, shave: int = 0) -> float:
    """Y-channel SSIM (Wang et al. 2004) of two 8-bit images, valid-region mean."""
    ya, yb = _prepare(result, reference, shave)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    window = _gaussian_window()
    radius = len(window) // 2

    def blur(x: np.ndarray) -> np.ndarray:
        y = scipy.ndimage.correlate1d(x, window, axis=0, mode="constant")
        y = scipy.ndimage.correlate1d(y, window, axis=1, mode="constant")
        return y[radius:-radius, radius:-radius]  # valid region only

    mu_a, mu_b = blur(ya), blur(yb)
    var_a = blur(ya * ya) - mu_a**2
    var_b = blur(yb * yb) - mu_b**2
    cov = blur(ya * yb) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(ssim_map.mean())


def detail_ratio(image: np.ndarray, reference: np.ndarray, shave: int = 0) -> float:
    """Fine detail of ``image`` relative to ``reference``: the ratio of their RMS luma gradients.

    sqrt(mean |grad Y_image|^2 / mean |grad Y_reference|^2), gradients as forward differences of Y on the
    shaved region. 1.0: as much fine detail as the reference; a blurred result is below 1, noise or
    ringing push it up (so it is read together with PSNR and NIQE, never alone).
    """
    def energy(x: np.ndarray) -> float:
        y = rgb_to_y(x)
        if shave:
            y = y[shave:-shave, shave:-shave]
        return float(np.mean(np.diff(y, axis=0) ** 2) + np.mean(np.diff(y, axis=1) ** 2))

    ref = energy(reference)
    return float(np.sqrt(energy(image) / ref)) if ref > 0 else float("nan")
