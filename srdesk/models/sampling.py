"""Sampling models (Pixel Recursive SR): several plausible enlargements, drawn pixel by pixel.

The image is cut into the model's input tiles (8x8 for the faces model); all
tiles of all samples are drawn together in chunks; progress is reported per
row of output pixels and cancellation checked there. The same seed gives the
same samples.

Each drawn tile is then made *consistent* with its input: the part of it that
the reduction to the input size can see is replaced by what the input says
(an exact projection onto the images whose MATLAB-bicubic reduction is the
input, as in Bahat & Michaeli's consistency-enforcing module, "Explorable
Super Resolution", CVPR 2020), which keeps what the sampler invented above the
input's resolution and drops only its disagreement with the input.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from srdesk.core.request import CancelToken, EnhanceRequest, ProgressFn
from srdesk.models.tiled import to_size

if TYPE_CHECKING:
    from srdesk.models.base import SamplingUpscaler

SAMPLE_CHUNK = 64  # tiles x samples sampled together; bounds memory (about 3 MB of logits each)
CONSISTENCY_ROUNDS = 100  # alternating projections: onto the consistent images, then into [0, 255]


def enforce_consistency(levels: np.ndarray, inputs: np.ndarray, rounds: int = CONSISTENCY_ROUNDS) -> np.ndarray:
    """Samples (N, C, H, W) in levels made to reduce (MATLAB bicubic) to their inputs (N, C, h, w) in levels.

    With the separable reduction ``x -> Dr x Dc^T``, adding ``Rr (input - Dr x Dc^T) Rc^T`` with the right
    inverses ``R = D^T (D D^T)^-1`` makes the reduction equal the input exactly and changes nothing the
    reduction cannot see. Where that leaves [0, 255] the two constraints are met by alternating projections
    (onto the consistent images, then clipping), in floating point, rounded to levels at the end.
    """
    from srdesk.core.resample import cubic_keys, weight_matrix

    (height, width), (h, w) = levels.shape[-2:], inputs.shape[-2:]
    rows = weight_matrix(height, h, cubic_keys, 4.0, True)
    cols = weight_matrix(width, w, cubic_keys, 4.0, True)
    rows_inverse = rows.T @ np.linalg.inv(rows @ rows.T)
    cols_inverse = cols.T @ np.linalg.inv(cols @ cols.T)
    x = levels.astype(np.float64)
    target = inputs.astype(np.float64)
    for _ in range(rounds):
        error = target - rows @ x @ cols.T
        x = np.clip(x + rows_inverse @ error @ cols_inverse.T, 0, 255)
    return np.rint(x).astype(levels.dtype)


def sampling_tiles(pixels: np.ndarray, tile: int) -> tuple[np.ndarray, int, int]:
    """(N, 3, tile, tile) tiles of the image, edge-padded to whole tiles, and the tile grid."""
    height, width = pixels.shape[:2]
    rows, cols = -(-height // tile), -(-width // tile)
    padded = np.pad(pixels, ((0, rows * tile - height), (0, cols * tile - width), (0, 0)), mode="edge")
    tiles = padded.reshape(rows, tile, cols, tile, 3).transpose(0, 2, 4, 1, 3).reshape(rows * cols, 3, tile, tile)
    return np.ascontiguousarray(tiles), rows, cols


def draw_samples(upscaler: SamplingUpscaler, pixels: np.ndarray, size: tuple[int, int], request: EnhanceRequest,
                 progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> list[np.ndarray]:
    """``request.samples`` different enlargements of ``pixels`` to ``size``."""
    import torch

    samples = request.samples
    tile, native = upscaler.tile, upscaler.scale
    height, width = pixels.shape[:2]
    tiles, rows, cols = sampling_tiles(pixels, tile)
    batch = np.repeat(tiles[None], samples, axis=0).reshape(-1, 3, tile, tile)  # sample-major
    out_tile = tile * native
    uniforms_all = torch.rand((len(batch), 3, out_tile, out_tile), dtype=torch.float64,
                              generator=torch.Generator().manual_seed(request.seed))
    chunks = list(range(0, len(batch), SAMPLE_CHUNK))
    total = len(chunks) * out_tile
    levels = np.empty((len(batch), 3, out_tile, out_tile), dtype=np.uint8)
    for k, start in enumerate(chunks):
        stop = start + SAMPLE_CHUNK

        def row_done(done: int, _total: int, k: int = k) -> None:
            if progress:
                progress(k * out_tile + done, total)

        drawn = upscaler.sample(torch.from_numpy(batch[start:stop]), request.temperature, uniforms_all[start:stop],
                                row_done, cancel)
        drawn_levels = drawn.numpy()
        if request.consistent:
            drawn_levels = enforce_consistency(drawn_levels, np.rint(batch[start:stop] * 255))
        levels[start:stop] = drawn_levels.astype(np.uint8)
    results = []
    for s in range(samples):
        grid = levels[s * rows * cols : (s + 1) * rows * cols].reshape(rows, cols, 3, out_tile, out_tile)
        stitched = grid.transpose(0, 3, 1, 4, 2).reshape(rows * out_tile, cols * out_tile, 3)
        results.append(to_size(stitched[: height * native, : width * native].astype(np.float32) / 255.0, size))
    return results


def estimate_seconds(upscaler: SamplingUpscaler, height: int, width: int, samples: int) -> float:
    """Rough time for :func:`draw_samples` on this device, from a short timed trial of the sampler's step."""
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
