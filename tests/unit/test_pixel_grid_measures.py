"""bench/pixel_grid.py's two measures of patterns tied to the output's pixel grid."""

from __future__ import annotations

import numpy as np

from bench.pixel_grid import cell_edges, grid_strength


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
