"""bench/sharpen_after.py's mask: the trainer's unsharp mask, linear at threshold 0, on one result."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from bench.sharpen_after import sharpened


def test_a_result_is_sharpened_by_its_difference_from_a_blur_and_a_flat_one_is_kept() -> None:
    rng = np.random.default_rng(0)
    smooth = np.clip(gaussian_filter(rng.random((64, 64, 3)), (3, 3, 0)), 0.2, 0.8).astype(np.float32)
    out = sharpened(smooth, 1.0, 2.0)
    inner = (slice(16, -16), slice(16, -16))
    blur = gaussian_filter(smooth.astype(np.float64), (2, 2, 0))
    expected = np.clip(2 * smooth - blur, 0, 1)
    assert np.abs(out[inner] - expected[inner]).max() < 2e-3  # image + weight * (image - blur)
    assert out[inner].std() > smooth[inner].std()  # more contrast in the detail
    flat = np.full((32, 32, 3), 0.5, np.float32)
    assert np.allclose(sharpened(flat, 2.0, 2.0), flat, atol=1e-6)
