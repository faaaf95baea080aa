"""One Enhance: image -> (tiles -> model or classical method -> merged) -> image.

The GUI worker, the CLI and batch all call :func:`enhance`; nothing else
enlarges images. Learned models run tile by tile (see :mod:`tiling`) so
memory stays bounded on any image size; progress is reported and
cancellation checked between tiles.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable
from typing import Protocol

import numpy as np

from srdesk.core import resample
from srdesk.core.errors import Cancelled, InvalidParameter
from srdesk.core.imageio import LoadedImage, from_array
from srdesk.core.tiling import Tile, plan_tiles
from srdesk.models.base import ClassicalUpscaler, SamplingUpscaler, TorchUpscaler

Upscaler = ClassicalUpscaler | TorchUpscaler | SamplingUpscaler

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int], None]
"""progress(done, total): called after each unit of work (a tile)."""

MIN_TILE = 32
OOM_MIN_TILE = 16  # smallest tile tried after running out of GPU memory
MAX_TILE = 1024
CPU_TILE_BUDGET_BYTES = 1 << 30  # activations of one tile on the CPU


class CancelToken(Protocol):
    def is_set(self) -> bool: ...


_model_cache: dict[tuple[str, str, str], Upscaler] = {}


def get_upscaler(name: str, device: str = "auto", precision: str = "auto") -> Upscaler:
    """Registry load, cached: the GUI and batch reuse a model across photos."""
    key = (name, device, precision)
    if key not in _model_cache:
        from srdesk.models import registry

        _model_cache[key] = registry.load(name, device, precision)
    return _model_cache[key]


def clear_model_cache() -> None:
    _model_cache.clear()


def auto_tile_size(upscaler: TorchUpscaler) -> int:
    """Largest square tile whose activations fit the device's free memory (with margin)."""
    from srdesk.core.devices import free_memory

    free = free_memory(upscaler.device)
    budget = CPU_TILE_BUDGET_BYTES if upscaler.device.type == "cpu" else (free or CPU_TILE_BUDGET_BYTES) // 2
    if free is not None:
        budget = min(budget, free // 4)
    side = int(math.sqrt(max(budget, 1) / upscaler.bytes_per_input_pixel))
    return int(min(MAX_TILE, max(MIN_TILE, side // 8 * 8)))


def _check_cancel(cancel: CancelToken | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("cancelled; nothing was written")


def run_tiled(
    upscaler: TorchUpscaler,
    image: np.ndarray,
    tile: int,
    overlap: int,
    progress: Callable[[], None] | None = None,
    cancel: CancelToken | None = None,
    notes: list[str] | None = None,
) -> np.ndarray:
    """One pass of a learned model over an (H, W, C) float32 image, tile by tile.

    When the GPU runs out of memory, the failing region is split into smaller
    tiles (down to OOM_MIN_TILE); if even those do not fit, the model moves to
    the CPU for the rest of the run. Either way the user is told via ``notes``.
    """
    import torch

    height, width, channels = image.shape
    scale = upscaler.scale
    out = np.empty((height * scale, width * scale, channels), dtype=np.float32)
    pending = plan_tiles(height, width, tile, overlap)
    while pending:
        t = pending.pop(0)
        _check_cancel(cancel)
        patch = np.ascontiguousarray(image[t.top : t.bottom, t.left : t.right].transpose(2, 0, 1))
        try:
            result = upscaler.run(torch.from_numpy(patch).unsqueeze(0))[0]
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
            if upscaler.device.type == "cpu":
                raise
            log.warning("out of GPU memory even with %d px tiles; continuing on the CPU", core)
            if notes is not None:
                notes.append("the GPU ran out of memory; the rest ran on the CPU (slower)")
            upscaler.move_to(torch.device("cpu"))
            pending.insert(0, t)
            continue
        kept = result[:, t.core_top * scale : t.core_bottom * scale, t.core_left * scale : t.core_right * scale]
        y0, x0 = t.core_origin
        out[y0 * scale : y0 * scale + kept.shape[1], x0 * scale : x0 * scale + kept.shape[2]] = (
            kept.permute(1, 2, 0).numpy()
        )
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


def _to_size(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A learned model's output at the requested size.

    Learned models have fixed scales: other scales are reached by reducing the
    model's output (antialiased), never by enlarging it further.
    """
    if pixels.shape[:2] == size:
        return pixels
    return resample.resize(pixels, size, "matlab-bicubic" if pixels.shape[0] > size[0] else "lanczos")


def _enlarge_alpha(alpha: np.ndarray | None, size: tuple[int, int], method: str) -> np.ndarray | None:
    """The alpha channel, enlarged on its own and kept within [0, 1]."""
    if alpha is None:
        return None
    return np.clip(resample.resize(alpha[:, :, None], size, method)[:, :, 0], 0.0, 1.0)


def model_passes(native: int, scale: float) -> int:
    """How many times to apply a x``native`` model for a x``scale`` result."""
    return max(1, math.floor(math.log(scale) / math.log(native) + 1e-9)) if scale > 1 else 1


def enhance(
    image: LoadedImage | np.ndarray,
    method: str | Upscaler,
    scale: float = 4,
    *,
    tile: int | None = None,
    overlap: int | None = None,
    device: str = "auto",
    precision: str = "auto",
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> LoadedImage:
    """Enlarge ``image`` by ``scale`` with a registry method (or a ready upscaler).

    ``tile``: core size in input pixels for learned models (None: chosen from
    free memory). ``overlap``: context around each tile (None: the model's
    receptive radius). Raises :class:`Cancelled` if ``cancel`` is set between
    tiles. Returns a new LoadedImage with the original's metadata.
    """
    source = image if isinstance(image, LoadedImage) else from_array(image)
    if not 1 <= scale <= 16:
        raise InvalidParameter(f"scale must be between 1 and 16, got {scale}")
    upscaler = get_upscaler(method, device, precision) if isinstance(method, str) else method
    if isinstance(upscaler, SamplingUpscaler):
        return enhance_samples(source, upscaler, scale, progress=progress, cancel=cancel)[0]
    height, width = source.pixels.shape[:2]
    size = resample.output_size((height, width), scale)
    _check_cancel(cancel)
    run_notes: list[str] = []

    if isinstance(upscaler, ClassicalUpscaler):
        pixels = upscaler.resize(source.pixels, size)
        alpha_method = upscaler.method
        if progress:
            progress(1, 1)
    else:
        native = upscaler.scale
        passes = model_passes(native, scale)
        tiles_per_pass = []
        h, w = height, width
        chosen_tile = tile or auto_tile_size(upscaler)
        context = upscaler.receptive_radius if overlap is None else overlap
        for _ in range(passes):
            tiles_per_pass.append(len(plan_tiles(h, w, chosen_tile, context)))
            h, w = h * native, w * native
        total = sum(tiles_per_pass)
        done = 0

        def step() -> None:
            nonlocal done
            done += 1
            if progress:
                progress(done, total)

        pixels = source.pixels
        for _ in range(passes):
            pixels = run_tiled(upscaler, pixels, chosen_tile, context, step, cancel, run_notes)
        pixels = _to_size(pixels, size)
        alpha_method = "bicubic"
    _check_cancel(cancel)
    alpha = _enlarge_alpha(source.alpha, size, alpha_method)
    meta = copy.deepcopy(source.meta)
    meta.notes.extend(run_notes)
    return LoadedImage(pixels=np.clip(pixels, 0.0, 1.0, out=pixels), alpha=alpha, meta=meta)


# ---------------------------------------------------------------------------
# sampling models (Pixel Recursive SR)
# ---------------------------------------------------------------------------

SAMPLE_CHUNK = 64  # tiles x samples sampled together; bounds memory (about 3 MB of logits each)


def _sampling_tiles(pixels: np.ndarray, tile: int) -> tuple[np.ndarray, int, int]:
    """(N, 3, tile, tile) tiles of the image, edge-padded to whole tiles, and the tile grid."""
    height, width = pixels.shape[:2]
    rows, cols = -(-height // tile), -(-width // tile)
    padded = np.pad(pixels, ((0, rows * tile - height), (0, cols * tile - width), (0, 0)), mode="edge")
    tiles = padded.reshape(rows, tile, cols, tile, 3).transpose(0, 2, 4, 1, 3).reshape(rows * cols, 3, tile, tile)
    return np.ascontiguousarray(tiles), rows, cols


def enhance_samples(
    image: LoadedImage | np.ndarray,
    method: str | SamplingUpscaler,
    scale: float = 4,
    *,
    samples: int = 1,
    temperature: float = 0.8,
    seed: int = 0,
    device: str = "auto",
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> list[LoadedImage]:
    """``samples`` different plausible enlargements from a sampling model.

    The image is cut into the model's input tiles (8x8 for the faces model),
    all tiles of all samples are drawn together in chunks, pixel by pixel;
    progress is reported per row of output pixels and cancellation checked
    there. The same ``seed`` gives the same samples.
    """
    import torch

    source = image if isinstance(image, LoadedImage) else from_array(image)
    upscaler = get_upscaler(method, device) if isinstance(method, str) else method
    if not isinstance(upscaler, SamplingUpscaler):
        raise InvalidParameter(f"{upscaler.name} draws one result; samples need a sampling model")
    if samples < 1:
        raise InvalidParameter(f"the number of samples must be at least 1, got {samples}")
    if temperature < 0:
        raise InvalidParameter(f"temperature cannot be negative, got {temperature}")
    tile, native = upscaler.tile, upscaler.scale
    height, width = source.pixels.shape[:2]
    tiles, rows, cols = _sampling_tiles(source.pixels, tile)
    batch = np.repeat(tiles[None], samples, axis=0).reshape(-1, 3, tile, tile)  # sample-major
    out_tile = tile * native
    uniforms_all = torch.rand((len(batch), 3, out_tile, out_tile), dtype=torch.float64,
                              generator=torch.Generator().manual_seed(seed))
    chunks = list(range(0, len(batch), SAMPLE_CHUNK))
    total = len(chunks) * out_tile
    levels = np.empty((len(batch), 3, out_tile, out_tile), dtype=np.uint8)
    for k, start in enumerate(chunks):
        stop = start + SAMPLE_CHUNK

        def row_done(done: int, _total: int, k: int = k) -> None:
            if progress:
                progress(k * out_tile + done, total)

        drawn = upscaler.sample(torch.from_numpy(batch[start:stop]), temperature, uniforms_all[start:stop],
                                row_done, cancel)
        levels[start:stop] = drawn.numpy().astype(np.uint8)
    size = resample.output_size((height, width), scale)
    alpha = _enlarge_alpha(source.alpha, size, "bicubic")  # the same for every sample
    results = []
    for s in range(samples):
        grid = levels[s * rows * cols : (s + 1) * rows * cols].reshape(rows, cols, 3, out_tile, out_tile)
        stitched = grid.transpose(0, 3, 1, 4, 2).reshape(rows * out_tile, cols * out_tile, 3)
        pixels = _to_size(stitched[: height * native, : width * native].astype(np.float32) / 255.0, size)
        results.append(LoadedImage(pixels=np.clip(pixels, 0.0, 1.0), alpha=None if alpha is None else alpha.copy(),
                                   meta=copy.deepcopy(source.meta)))
    return results


def estimate_sampling_seconds(upscaler: SamplingUpscaler, height: int, width: int, samples: int) -> float:
    """Rough time for :func:`enhance_samples` on this device, from a short timed trial."""
    import time

    import torch

    from srdesk.models.pixel_recursive import PixelRecursiveSR, choose, to_prior_input

    model = upscaler.module
    assert isinstance(model, PixelRecursiveSR)
    tile = upscaler.tile
    n_tiles = -(-height // tile) * -(-width // tile) * samples
    out_tile = tile * upscaler.scale
    prior = model.prior
    batch = min(SAMPLE_CHUNK, n_tiles)
    columns = min(out_tile, prior.columns_left + 1)
    row = to_prior_input(torch.zeros(batch, 3, 1, columns, dtype=torch.long)).to(upscaler.device)
    with torch.inference_mode():
        links = prior.links(to_prior_input(torch.zeros(batch, 3, prior.rows_above + 1, out_tile, dtype=torch.long))
                            .to(upscaler.device))
        row_links = [link[:, :, -1:, :columns] for link in links]

        uniforms = torch.rand(batch, dtype=torch.float64)

        def step() -> None:  # one sub-pixel of the fast sampler: prior, then the draw
            choose(prior.last_column_logits(row, row_links)[:, 0], 0.8, uniforms)

        step()  # warm-up
        start = time.perf_counter()
        for _ in range(5):
            step()
        per_pass = (time.perf_counter() - start) / 5
    chunks = -(-n_tiles // SAMPLE_CHUNK)
    return chunks * out_tile * out_tile * 3 * per_pass
