"""Each classical method against properties it must have."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from srdesk.core import resample
from srdesk.core.errors import InvalidParameter

UPSCALERS = ["nearest", "bilinear", "bicubic", "lanczos", "hermite", "bspline", "fft", "matlab-bicubic"]
INTERPOLATING = ["nearest", "bilinear", "bicubic", "lanczos", "hermite", "bspline", "matlab-bicubic"]


@pytest.mark.parametrize("method", UPSCALERS)
@pytest.mark.parametrize("scale", [2, 3, 4, 5, 8])
def test_output_size_and_dtype(method: str, scale: int, photo: np.ndarray) -> None:
    out = resample.resize(photo, (photo.shape[0] * scale, photo.shape[1] * scale), method)
    assert out.shape == (photo.shape[0] * scale, photo.shape[1] * scale, 3)
    assert out.dtype == np.float32


@pytest.mark.parametrize("method", UPSCALERS)
def test_constant_image_stays_constant(method: str) -> None:
    flat = np.full((17, 23, 3), [0.2, 0.5, 0.9], dtype=np.float32)
    out = resample.resize(flat, (68, 92), method)
    np.testing.assert_allclose(out, np.broadcast_to([0.2, 0.5, 0.9], out.shape), atol=1e-5)


@pytest.mark.parametrize("method", INTERPOLATING)
@pytest.mark.parametrize("scale", [3, 5])
def test_interpolators_reproduce_samples_at_odd_scales(method: str, scale: int, photo: np.ndarray) -> None:
    """Under the pixel-centre convention, output pixel s*n + (s-1)/2 sits on input pixel n."""
    out = resample.resize(photo, (photo.shape[0] * scale, photo.shape[1] * scale), method)
    offset = (scale - 1) // 2
    np.testing.assert_allclose(out[offset::scale, offset::scale], photo, atol=2e-5)


def test_fft_reproduces_band_limited_signal_exactly() -> None:
    """A sum of low-frequency cosines, symmetric at the borders, is interpolated exactly everywhere."""
    n, scale = 24, 4
    def signal(t: np.ndarray) -> np.ndarray:  # cosines of the half-sample-symmetric basis
        return 0.5 + 0.2 * np.cos(np.pi * 3 * (t + 0.5) / n) + 0.1 * np.cos(np.pi * 7 * (t + 0.5) / n)
    grid = np.arange(n, dtype=np.float64)
    image = (signal(grid)[:, None] * signal(grid)[None, :])[:, :, None].astype(np.float32)
    out = resample.fft_zero_pad(image, (n * scale, n * scale))
    fine = (np.arange(n * scale) + 0.5) / scale - 0.5
    expected = signal(fine)[:, None] * signal(fine)[None, :]
    np.testing.assert_allclose(out[:, :, 0], expected, atol=1e-5)


def test_fft_handles_the_nyquist_bin() -> None:
    """The highest frequency (alternating pixels) stays real and still interpolates."""
    row = np.tile([0.0, 1.0], 8).astype(np.float32)
    image = np.repeat(row[None, :, None], 4, axis=0)
    out = resample.fft_zero_pad(image, (4, 48))
    np.testing.assert_allclose(out[0, 1::3, 0], row, atol=1e-5)
    assert np.isfinite(out).all()


def test_fft_does_not_wrap_edges() -> None:
    """Mirror extension: a dark left edge does not leak into the bright right edge."""
    ramp = np.linspace(0, 1, 32, dtype=np.float32)
    image = np.repeat(ramp[None, :, None], 8, axis=0)
    out = resample.fft_zero_pad(image, (8, 128))
    assert out[0, -1, 0] > 0.95 and out[0, 0, 0] < 0.05


def test_bilinear_keeps_linear_ramps_linear() -> None:
    ramp = np.linspace(0.1, 0.9, 40, dtype=np.float32)
    image = np.repeat(ramp[None, :, None], 10, axis=0)
    out = resample.bilinear(image, (10, 160))[5, :, 0]
    inner = out[4:-4]  # the first/last half-input-pixel are clamped at the border
    steps = np.diff(inner)
    np.testing.assert_allclose(steps, steps.mean(), atol=1e-5)


@pytest.mark.parametrize("method", UPSCALERS)
def test_no_colour_shift(method: str, photo: np.ndarray) -> None:
    out = resample.resize(photo, (photo.shape[0] * 4, photo.shape[1] * 4), method)
    np.testing.assert_allclose(out.mean(axis=(0, 1)), photo.mean(axis=(0, 1)), atol=0.01)


def test_nearest_then_decimate_is_identity(photo: np.ndarray) -> None:
    for scale in (2, 3, 4):
        big = resample.nearest(photo, (photo.shape[0] * scale, photo.shape[1] * scale))
        np.testing.assert_array_equal(resample.decimate(big, scale), photo)


def test_decimate_takes_every_kth_pixel() -> None:
    image = np.arange(64, dtype=np.float32).reshape(8, 8, 1)
    np.testing.assert_array_equal(resample.decimate(image, 4, offset=0)[:, :, 0], image[::4, ::4, 0])
    np.testing.assert_array_equal(resample.decimate(image, 3)[:, :, 0], image[1::3, 1::3, 0])


def test_antialiased_downsampling_suppresses_aliasing() -> None:
    """A pattern at the input's Nyquist frequency: decimation keeps it, antialiasing removes it."""
    stripes = np.tile([0.0, 1.0], 32).astype(np.float32)
    image = np.repeat(stripes[None, :, None], 8, axis=0)
    aliased = resample.decimate(image, 4, offset=1)
    smooth = resample.downsample(image, 4, "antialias")
    assert aliased.std() == 0 and aliased.mean() == 1.0  # every kept sample is a white stripe
    np.testing.assert_allclose(smooth[:, 1:-1], 0.5, atol=0.02)  # border pixels see the mirror


def test_matlab_bicubic_matches_reference_weights() -> None:
    """MATLAB's imresize(x, 1/2, 'bicubic') weights for an 8-sample signal (from its documented algorithm)."""
    matrix = resample.weight_matrix(8, 4, resample.cubic_keys, 4.0)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0)
    # output sample 1 is centred at input 2.5, kernel stretched x2: taps -1..6,
    # and tap -1 mirrors onto sample 0 (MATLAB's symmetric border)
    taps = np.arange(-1, 7)
    weights = resample.cubic_keys((taps - 2.5) / 2) / 2
    weights /= weights.sum()
    expected = np.zeros(8)
    np.add.at(expected, np.where(taps < 0, -taps - 1, taps), weights)
    np.testing.assert_allclose(matrix[1], expected, atol=1e-12)


def test_unknown_method_is_a_clear_error(photo: np.ndarray) -> None:
    with pytest.raises(InvalidParameter, match="unknown resampling method"):
        resample.resize(photo, (10, 10), "magic")


def test_non_integer_scale(photo: np.ndarray) -> None:
    size = resample.output_size(photo.shape[:2], 2.5)
    for method in UPSCALERS:
        assert resample.resize(photo, size, method).shape[:2] == (120, 160)


@settings(max_examples=40, deadline=None)
@given(h=st.integers(1, 20), w=st.integers(1, 20), scale=st.integers(2, 8),
       method=st.sampled_from(UPSCALERS), value=st.floats(0, 1))
def test_property_any_size_any_scale(h: int, w: int, scale: int, method: str, value: float) -> None:
    image = np.full((h, w, 3), value, dtype=np.float32)
    out = resample.resize(image, (h * scale, w * scale), method)
    assert out.shape == (h * scale, w * scale, 3)
    np.testing.assert_allclose(out, value, atol=1e-4)
