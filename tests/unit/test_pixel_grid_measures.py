"""bench/pixel_grid.py's measures of periodic artefacts in an enlargement."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from bench.pixel_grid import cell_edges, grid_strength, spectral_rise, spectral_rises


def _noise(size: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3)).astype(np.uint8)


def test_cell_edges_finds_input_pixels_drawn_as_tiles_and_not_a_photo_like_texture() -> None:
    texture = _noise(128)
    tiles = np.repeat(np.repeat(_noise(32, 1), 4, axis=0), 4, axis=1)  # each input pixel a 4x4 tile
    assert cell_edges(texture, 4) < 1.05  # no preferred phase
    assert cell_edges(tiles, 4) > 3.5  # every step at a tile's edge: all in one of four phases
    # their steps go up in one place and down in the next: the signed grid measure cancels them out,
    # where a phase-locked stripe (a grid in the strict sense) is what it is made for
    stripes = np.zeros((128, 128, 3), np.uint8)
    stripes[:, 1::4] = 255
    assert grid_strength(tiles, 4) < 1.0 < 50 < grid_strength(stripes, 4)


def test_spectral_rise_finds_fine_stripes_that_no_phase_or_cell_holds() -> None:
    """A smooth photo-like picture loses power with frequency; faint stripes of a 2.7 px period over it
    (not a divisor of the 4 px cells, so neither grid measure holds them) make their band rise."""
    smooth = gaussian_filter(np.random.default_rng(2).normal(128, 60, (256, 256)), 0.8)
    columns = np.arange(256)
    striped = smooth + 6 * np.sin(2 * np.pi * columns / 2.7)[None, :]

    def rgb(y: np.ndarray) -> np.ndarray:
        return np.repeat(np.clip(np.round(y), 0, 255).astype(np.uint8)[..., None], 3, axis=2)

    assert spectral_rise(rgb(smooth)) < 1.0 < 2.0 < spectral_rise(rgb(striped))
    assert spectral_rise(rgb(striped.T)) > 2.0  # along columns as along rows
    along_rows, along_columns = spectral_rises(rgb(striped))
    assert along_rows > 2.0 > along_columns  # which way the stripes lie
    assert spectral_rises(rgb(striped.T))[1] > 2.0 > spectral_rises(rgb(striped.T))[0]
