"""Running a convolutional model over an image of any size, tile by tile.

Each tile carries ``overlap`` pixels of context (the model's receptive
radius by default) that are cut away after the model ran, so the merged
result equals an untiled pass while memory is bounded by the tile. Progress
is reported and cancellation checked between tiles. A model with a fixed
scale reaches other scales by repeated passes and an antialiased reduction.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

import numpy as np

from srdesk.core import resample
from srdesk.core.devices import free_memory
from srdesk.core.imageio import integer_dtype, quantize, quantize_into
from srdesk.core.request import CancelToken, EnhanceRequest, ProgressFn, check_cancel
from srdesk.core.tiling import Tile, plan_tiles

if TYPE_CHECKING:
    from collections.abc import Callable

    from srdesk.models.base import TorchUpscaler

log = logging.getLogger(__name__)

MIN_TILE = 32
OOM_MIN_TILE = 16  # smallest tile tried after running out of GPU memory
MAX_TILE = 1024
CPU_TILE_BUDGET_BYTES = 1 << 30  # activations of one tile on the CPU


def auto_tile_size(upscaler: TorchUpscaler) -> int:
    """Largest square tile whose activations fit the device's free memory (with margin)."""
    free = free_memory(upscaler.device)
    budget = CPU_TILE_BUDGET_BYTES if upscaler.device.type == "cpu" else (free or CPU_TILE_BUDGET_BYTES) // 2
    if free is not None:
        budget = min(budget, free // 4)
    side = int(math.sqrt(max(budget, 1) / upscaler.bytes_per_input_pixel))
    return int(min(MAX_TILE, max(MIN_TILE, side // 8 * 8)))


def model_passes(native: int, scale: float) -> int:
    """How many times to apply a x``native`` model for a x``scale`` result."""
    return max(1, math.floor(math.log(scale) / math.log(native) + 1e-9)) if scale > 1 else 1


def to_size(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A learned model's output at the requested size.

    Learned models have fixed scales: other scales are reached by reducing the
    model's output (antialiased), never by enlarging it further.
    """
    if pixels.shape[:2] == size:
        return pixels
    return resample.resize(pixels, size, "matlab-bicubic" if pixels.shape[0] > size[0] else "lanczos")


def enlarge_tiled(upscaler: TorchUpscaler, pixels: np.ndarray, size: tuple[int, int], request: EnhanceRequest,
                  progress: ProgressFn | None = None, cancel: CancelToken | None = None,
                  notes: list[str] | None = None, bits_for: int = 0) -> np.ndarray:
    """``pixels`` enlarged to ``size`` by as many passes of the model as the scale needs.

    ``bits_for`` 8 or 16: the result is uint8/uint16 (tiles quantised as they finish); 0: float32.
    """
    height, width = pixels.shape[:2]
    native = upscaler.scale
    passes = model_passes(native, float(request.scale))
    tile = request.tile or auto_tile_size(upscaler)
    context = upscaler.receptive_radius if request.overlap is None else request.overlap
    align = getattr(upscaler, "align", 1)
    if align > 1:  # window attention: every tile starts where the whole image's windows start
        tile, context = -(-tile // align) * align, -(-context // align) * align
    total, h, w = 0, height, width
    for _ in range(passes):
        total += len(plan_tiles(h, w, tile, context))
        h, w = h * native, w * native
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total)

    origin = request.origin
    for index in range(passes):
        # the last pass writes the result's integer levels directly when no reduction follows it
        direct = index == passes - 1 and (pixels.shape[0] * native, pixels.shape[1] * native) == size
        pixels = run_tiled(upscaler, pixels, tile, context, step, cancel, notes, bits=bits_for if direct else 0,
                           origin=origin)
        origin = (origin[0] * native, origin[1] * native)
    pixels = to_size(pixels, size)
    return quantize(pixels, bits_for) if bits_for else pixels


def run_tiled(
    upscaler: TorchUpscaler,
    image: np.ndarray,
    tile: int,
    overlap: int,
    progress: Callable[[], None] | None = None,
    cancel: CancelToken | None = None,
    notes: list[str] | None = None,
    bits: int = 0,
    origin: tuple[int, int] = (0, 0),
) -> np.ndarray:
    """One pass of a learned model over an (H, W, C) float32 image, tile by tile.

    The result is float32, or with ``bits`` 8/16 uint8/uint16: each tile is
    clipped and rounded as it is stored, so no float copy of the whole result exists.
    ``origin``: where ``image`` starts in the photo (a preview's crop), for models that draw by position.

    When the GPU runs out of memory, the failing region is split into smaller
    tiles (down to OOM_MIN_TILE); if even those do not fit, the rest of this
    run goes to a CPU copy of the model (the cached model stays on the GPU for
    the next photo). Either way the user is told via ``notes``.
    """
    import torch

    height, width, channels = image.shape
    scale = upscaler.scale
    runner = upscaler
    out = np.empty((height * scale, width * scale, channels), dtype=integer_dtype(bits) if bits else np.float32)
    pending = plan_tiles(height, width, tile, overlap)
    while pending:
        t = pending.pop(0)
        check_cancel(cancel)
        patch = np.ascontiguousarray(image[t.top : t.bottom, t.left : t.right].transpose(2, 0, 1))
        try:
            batch = torch.from_numpy(patch).unsqueeze(0)
            if getattr(runner, "positional", False):  # a drawn texture: where the tile lies in the photo
                result = runner.run(batch, origin=(origin[0] + t.top, origin[1] + t.left))[0]
            else:
                result = runner.run(batch)[0]
        except torch.cuda.OutOfMemoryError:
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            core = max(t.core_bottom - t.core_top, t.core_right - t.core_left)
            if core > OOM_MIN_TILE:
                smaller = max(OOM_MIN_TILE, core // 2)
                log.warning("out of GPU memory with %d px tiles; retrying this region with %d px", core, smaller)
                if notes is not None and not any("smaller tiles" in n for n in notes):
                    notes.append("the GPU ran out of memory; smaller tiles were used")
                y0, x0 = t.core_origin
                sub = plan_tiles(t.core_bottom - t.core_top, t.core_right - t.core_left, smaller, 0)
                pending[:0] = [_offset_tile(s, y0, x0, overlap, height, width) for s in sub]
                continue
            if runner.device.type == "cpu":
                raise
            log.warning("out of GPU memory even with %d px tiles; this run continues on the CPU", core)
            if notes is not None:
                notes.append("the GPU ran out of memory; the rest ran on the CPU (slower)")
            runner = upscaler.cpu_copy()
            pending.insert(0, t)
            continue
        kept = result[:, t.core_top * scale : t.core_bottom * scale, t.core_left * scale : t.core_right * scale]
        y0, x0 = t.core_origin
        region = out[y0 * scale : y0 * scale + kept.shape[1], x0 * scale : x0 * scale + kept.shape[2]]
        if bits:
            quantize_into(region, kept.permute(1, 2, 0).numpy())
        else:
            region[...] = kept.permute(1, 2, 0).numpy()
        if progress:
            progress()
    return out


def _offset_tile(sub: Tile, y0: int, x0: int, overlap: int, height: int, width: int) -> Tile:
    """A sub-tile of a core region, re-expressed with context in full-image coordinates."""
    cy0, cx0 = y0 + sub.top + sub.core_top, x0 + sub.left + sub.core_left
    cy1, cx1 = y0 + sub.top + sub.core_bottom, x0 + sub.left + sub.core_right
    top, left = max(0, cy0 - overlap), max(0, cx0 - overlap)
    bottom, right = min(height, cy1 + overlap), min(width, cx1 + overlap)
    return Tile(top, left, bottom, right, cy0 - top, cx0 - left, cy1 - top, cx1 - left)
