"""bench/error_spectrum.py: a luma's power by radial band, in units of the input's Nyquist frequency."""

from __future__ import annotations

import numpy as np

from bench.error_spectrum import EDGES, Spectrum, band_powers


def _grey(y: np.ndarray) -> np.ndarray:
    """8-bit RGB whose BT.601 luma is ``y`` (up to rounding)."""
    level = np.clip(np.round((np.asarray(y) - 16.0) * 255.0 / 219.0), 0, 255).astype(np.uint8)
    return np.repeat(level[..., None], 3, axis=2)


def test_bands_sum_to_the_windowed_mean_square() -> None:
    y = np.random.default_rng(0).normal(0, 10, (96, 80))
    windowed = y * np.outer(np.hanning(96), np.hanning(80))
    assert np.isclose(band_powers(y, 4).sum(), np.mean(windowed**2), rtol=1e-9)


def test_a_stripe_lands_in_its_band_relative_to_the_input_nyquist() -> None:
    """At x4 the input's Nyquist frequency is 1/8 cycle per output pixel: a stripe of 12 px period is 2/3 of
    it, one of 5 px is 1.6 times it; at x2 (Nyquist 1/4) the 5 px stripe is 0.8 of it."""
    columns = np.arange(240)
    for period, scale, band in ((12, 4, (0.5, 0.75)), (5, 4, (1.5, 2.0)), (5, 2, (0.75, 1.0))):
        y = np.tile(np.sin(2 * np.pi * columns / period), (240, 1))
        powers = band_powers(y, scale)
        assert int(np.argmax(powers)) == EDGES.index(band[0])
        assert powers.max() > 0.9 * powers.sum()


def test_the_error_share_tells_restoration_from_missing_detail() -> None:
    """A result that lacks the photo's fine stripes has its error above the input's Nyquist frequency and
    gains nothing from better restoration; one with a coarse error below it would gain all of it."""
    rows, columns = np.mgrid[0:200, 0:200]
    coarse = 40 * np.sin(2 * np.pi * columns / 40)  # 0.4 x Nyquist at x4
    fine = 12 * np.sin(2 * np.pi * rows / 3)        # 2.67 x Nyquist at x4
    truth = _grey(120 + coarse + fine)
    missing_detail, wrong_coarse = Spectrum(), Spectrum()
    missing_detail.add(_grey(120 + coarse), truth, 4)
    wrong_coarse.add(_grey(120 + 0.8 * coarse + fine), truth, 4)
    assert missing_detail.share_below_nyquist < 0.05 < 0.95 < wrong_coarse.share_below_nyquist
    assert missing_detail.restored_psnr[0] - missing_detail.psnr[0] < 0.3
    assert wrong_coarse.restored_psnr[0] - wrong_coarse.psnr[0] > 10
    # the fine band's error is its whole power where the result has none of it
    fine_band = EDGES.index(2.0)  # the 2-3 band
    assert np.isclose(missing_detail.error[fine_band] / missing_detail.signal[fine_band], 1.0, atol=0.05)


def test_block_edges_finds_an_error_on_the_jpeg_grid_of_the_input() -> None:
    """At x4 an input pixel is 4x4 output pixels; an error on every input pixel whose row is 0 or 7 mod 8 (the
    blocks' edges, counted on the unshaved image) raises the measure; the same error spread evenly does not."""
    truth = _grey(np.full((160, 160), 120.0))
    rows = np.arange(160)[:, None] // 4 % 8
    on_edges = Spectrum()
    on_edges.add(_grey(np.where(np.isin(rows, (0, 7)), 135.0, 122.0) * np.ones((1, 160))), truth, 4)
    spread = Spectrum()
    spread.add(_grey(120.0 + 10.0 * (np.random.default_rng(1).random((160, 160)) < 0.25)), truth, 4)
    assert on_edges.block_edge_ratio > 10
    assert 0.8 < spread.block_edge_ratio < 1.25
