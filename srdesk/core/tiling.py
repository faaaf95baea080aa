"""Split an image into overlapping tiles and put the enlarged tiles back.

Each tile is a core region plus ``overlap`` pixels of context on every side
(clipped at the image border). The model sees core + context; only the core's
enlarged pixels are written out. When the model's receptive field is no wider
than the overlap, every output pixel sees exactly what it would have seen in
one untiled pass, so tiling is invisible (no seams, nothing to blend), and
memory is bounded by the tile size, not the image size.
"""

from __future__ import annotations

from dataclasses import dataclass

from srdesk.core.errors import InvalidParameter


@dataclass(frozen=True)
class Tile:
    # input rectangle the model reads (core + context), as slices bounds
    top: int
    left: int
    bottom: int
    right: int
    # the core inside it, relative to (top, left)
    core_top: int
    core_left: int
    core_bottom: int
    core_right: int

    @property
    def core_origin(self) -> tuple[int, int]:
        return self.top + self.core_top, self.left + self.core_left


def plan_tiles(height: int, width: int, tile: int, overlap: int) -> list[Tile]:
    """Tiles covering (height, width) with ``tile`` x ``tile`` cores and ``overlap`` context."""
    if tile < 1:
        raise InvalidParameter(f"tile size must be at least 1 pixel, got {tile}")
    if overlap < 0:
        raise InvalidParameter(f"tile overlap cannot be negative, got {overlap}")
    tiles = []
    for y0 in range(0, height, tile):
        y1 = min(y0 + tile, height)
        top, bottom = max(0, y0 - overlap), min(height, y1 + overlap)
        for x0 in range(0, width, tile):
            x1 = min(x0 + tile, width)
            left, right = max(0, x0 - overlap), min(width, x1 + overlap)
            tiles.append(Tile(top, left, bottom, right, y0 - top, x0 - left, y1 - top, x1 - left))
    return tiles
