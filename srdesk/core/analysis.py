"""What a photo has been through: its JPEG quality, its noise level and its aliasing, measured before enlarging.

A blind photo model has to guess whether fine texture is detail or damage, and on clean inputs it guesses
wrong (measured: on clean and JPEG q90-95 inputs the clean-image model is 0.3-1.1 dB more faithful than the
photo model; from JPEG q85 down, and under strong noise, the photo model is the better one; README, "Choosing
automatically"). Both things that decide it can be measured:

- **JPEG quality.** A JPEG file carries its quantisation tables; the luminance table, matched against the
  IJG tables every common encoder scales (libjpeg's ``quality``), gives the quality it was saved at. A picture
  without them (a PNG saved from a JPEG, pixels from memory) still shows them: the 8x8 DCT coefficients of
  its luminance lie on a lattice of the quantisation steps (the decoder's rounding adds ~0.3), which is
  found and matched the same way (Fan and de Queiroz 2003, "Identification of bitmap compression history").
- **Noise.** Liu, Tanaka and Okutomi 2013 ("Single-image noise level estimation for blind denoising"): the
  smallest eigenvalue of the covariance of weak-texture patches, the patches chosen iteratively by their
  gradient energy against the noise-only distribution. Measured on the luminance, in 8-bit levels.

A third thing sends a lossless, quiet photo to the photo model: **aliasing**. A picture reduced by taking
every k-th pixel (the cheapest resizers, a bilinear reduction without anti-aliasing) keeps detail the clean
reduction would have removed, folded back as jagged edges and false patterns, which the clean-image model
sharpens into moiré stripes (measured: 1.8 dB below Lanczos on such Set14 / BSD68 inputs, ``python -m
bench.held_out``). A clean reduction leaves little power just below the picture's Nyquist frequency, an
aliased one nearly as much as the 1/f fall of natural pictures gives (Welch's averaged periodogram of the
luminance over tiles; the measure is the power at 0.75-1 of the Nyquist frequency over that at 0.3-0.5, each
less the measured noise's flat floor, the high band's with a margin).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The JPEG standard's example luminance table (ITU-T T.81, Annex K.1), natural order: what libjpeg scales.
IJG_LUMINANCE = np.array([
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
], dtype=np.int64)

CLEAN_QUALITY = 88
"""JPEG quality from which the clean-image model is the better choice (measured: it wins at q90 and q95 on
Set14 and BSD68 by 0.3-0.8 dB, the photo model from q85 down)."""
CLEAN_NOISE = 4.0
"""Noise (standard deviation, 8-bit levels of luminance) up to which the clean-image model is chosen at x4."""
CLEAN_NOISE_X2 = 3.0
"""The same for the x2 models: at x2 the result is closer to the input and the clean-image model's sharpened noise
costs more (measured, ``python -m bench.automatic --scale 2``: on strong lossless noise 3 levels gains 0.2 dB
over 4, for at most 0.02 dB on clean and JPEG 90-95 inputs)."""
ALIASED = 0.2
"""Aliasing measure (see :func:`aliasing`) from which a lossless, quiet photo goes to the photo model at x4
(measured, ``python -m bench.automatic``: on Set14 / BSD68 reduced by taking every 4th pixel it gains 0.7 / 1.2 dB
over choosing by JPEG and noise alone, for at most 0.01 dB on clean, JPEG 90-95 and camera inputs)."""
ALIASED_X2 = 0.3
"""The same for the x2 models, higher: at x2 the clean-image model's lead on clean photos is twice x4's (2 dB
against 0.8), so a photo wrongly judged aliased costs more (on BSD68's clean and JPEG 95 inputs 0.2 costs 0.1 dB,
0.25 0.04-0.05, 0.3 0.02, for +1.0 / +0.7 dB at 0.25 / 0.3 on inputs reduced by taking every 2nd pixel)."""
MIN_SIDE_FOR_ALIASING = 80  # pixels; smaller pictures are not judged for it
NOISE_MARGIN = 1.3  # the aliasing measure's high band counts power above 1.3 times the measured noise's
MAX_BLOCKS = 40_000  # 8x8 blocks looked at (2.6 MP worth)
LATTICE_POSITIONS = 15  # low-frequency DCT positions (zigzag order) searched for a quantisation lattice
_ZIGZAG = [(i, j) for s in range(15) for i, j in
           (((k, s - k) for k in range(s + 1)) if s % 2 else ((s - k, k) for k in range(s + 1)))
           if i < 8 and j < 8]


def ijg_table(quality: int) -> np.ndarray:
    """libjpeg's luminance table at ``quality`` (1-100)."""
    quality = int(np.clip(quality, 1, 100))
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return np.clip((IJG_LUMINANCE * scale + 50) // 100, 1, 255)


_TABLES = np.stack([ijg_table(q) for q in range(1, 101)])


def quality_from_table(table: np.ndarray | list[int], positions: np.ndarray | None = None,
                       weights: np.ndarray | None = None) -> int:
    """The IJG quality whose luminance table is nearest ``table`` (64 steps in natural order, or only the
    steps at ``positions``), by the steps' relative differences: an encoder with tables of its own (most
    cameras) gets the quality of the nearest standard one."""
    observed = np.asarray(table, dtype=np.float64)
    candidates = _TABLES if positions is None else _TABLES[:, positions]
    w = np.ones(observed.shape) if weights is None else weights
    error = (w * np.abs(np.log(candidates / observed))).sum(axis=1)
    best = np.flatnonzero(error <= error.min() + 1e-9)
    return int(best[len(best) // 2] + 1)  # (a flat run of equally near qualities: its middle)


def luma(pixels: np.ndarray) -> np.ndarray:
    """JPEG's luminance (BT.601, full range) in 8-bit levels, float32."""
    peak = 255.0 if pixels.dtype.kind == "f" else 1.0 / 257.0 if pixels.dtype == np.uint16 else 1.0
    if pixels.ndim == 2:
        return pixels.astype(np.float32) * np.float32(peak)
    y = pixels[..., 0] * np.float32(0.299 * peak)  # float32 throughout: a 24 MP photo in a fraction of a second
    y += pixels[..., 1] * np.float32(0.587 * peak)
    y += pixels[..., 2] * np.float32(0.114 * peak)
    return y


def _lattice_step(coefficients: np.ndarray, max_step: int = 64) -> tuple[int, int] | None:
    """The largest step whose multiples the coefficients keep to (the quantisation step), and how many
    coefficients showed it; None when too few coefficients are off zero to tell."""
    best = None
    for step in range(2, max_step + 1):
        used = coefficients[np.abs(coefficients) >= 0.75 * step]
        if len(used) < 40:
            break
        off = np.abs(used - step * np.round(used / step)).mean()
        if off < 0.12 * step and off < 0.9:  # on a lattice: rounding noise only (random values: step / 4)
            best = (step, len(used))
    return best


def quality_from_pixels(pixels: np.ndarray) -> int | None:
    """The JPEG quality a picture was last saved at, read from its pixels (8x8 blocks aligned with its
    top-left corner, as a decoded JPEG's are); None when they show no quantisation lattice (never a JPEG,
    resized or cropped since, or saved at a quality so high that the steps are 1)."""
    return _quality_from_luma(luma(pixels), _saturated(pixels))


def _saturated(pixels: np.ndarray) -> np.ndarray | None:
    """Where any colour channel is at the end of its range (H x W), or None for a grey picture. The decoder
    clipped those pixels' red, green or blue after converting from YCbCr, which moves their luminance off the
    quantisation lattice although the luminance itself is not at 0 or 255 (saturated colours, sharpening's
    haloes)."""
    if pixels.ndim == 2:
        return None
    top = 1.0 if pixels.dtype.kind == "f" else float(np.iinfo(pixels.dtype).max)
    saturated = np.zeros(pixels.shape[:2], dtype=bool)
    for channel in range(min(pixels.shape[2], 3)):  # channel by channel: a 24 MP photo's masks stay small
        saturated |= pixels[..., channel] <= 0
        saturated |= pixels[..., channel] >= top
    return saturated


def _quality_from_luma(y: np.ndarray, saturated: np.ndarray | None = None) -> int | None:
    """The quality from the blocks without a saturated pixel (``saturated``: H x W, or None); where too few
    of those show the lattice, from the blocks whose luminance is not clipped."""
    if saturated is not None:
        quality = _quality_from_blocks(y, saturated)
        if quality is not None:
            return quality
    return _quality_from_blocks(y, None)


def _quality_from_blocks(y: np.ndarray, saturated: np.ndarray | None) -> int | None:
    from scipy.fft import dctn

    h, w = y.shape[0] // 8 * 8, y.shape[1] // 8 * 8
    if h < 16 or w < 16:
        return None
    blocks = y[:h, :w].reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3).reshape(-1, 8, 8)
    clipped = (blocks <= 0.5).any(axis=(1, 2)) | (blocks >= 254.5).any(axis=(1, 2))
    if saturated is not None:
        clipped |= saturated[:h, :w].reshape(h // 8, 8, w // 8, 8).any(axis=(1, 3)).reshape(-1)
    blocks = blocks[~clipped]
    if len(blocks) < 16:
        return None
    if len(blocks) > MAX_BLOCKS:  # a large photo: an even sample of its blocks tells as much
        blocks = blocks[np.linspace(0, len(blocks) - 1, MAX_BLOCKS).astype(np.int64)]
    coefficients = dctn(blocks - 128.0, axes=(1, 2), norm="ortho")
    steps, positions, counts = [], [], []
    for i, j in _ZIGZAG[:LATTICE_POSITIONS]:
        found = _lattice_step(coefficients[:, i, j])
        if found is not None:
            steps.append(found[0])
            positions.append(i * 8 + j)
            counts.append(found[1])
    if len(steps) < 3:
        return None
    return quality_from_table(np.array(steps), np.array(positions), np.sqrt(np.array(counts, dtype=np.float64)))


def noise_level(pixels: np.ndarray) -> float:
    """Standard deviation of the noise on the luminance, in 8-bit levels (Liu, Tanaka and Okutomi 2013)."""
    return _noise_from_luma(luma(pixels))


def _smallest_eigenvalue(patches: np.ndarray) -> float:
    """The smallest eigenvalue of the covariance of flattened ``patches`` (rows), at least 0: the variance
    along the direction where they vary least, which for weak-textured patches is the noise's alone."""
    return max(float(np.linalg.eigvalsh(np.cov(patches.T))[0]), 0.0)


def _noise_from_luma(y: np.ndarray, patch: int = 7, max_patches: int = 60_000, seed: int = 0) -> float:
    from numpy.lib.stride_tricks import sliding_window_view
    from scipy.special import gammaincinv

    if min(y.shape) < 2 * patch:
        return 0.0
    windows = sliding_window_view(y, (patch, patch))
    rows, cols = windows.shape[:2]
    stride = max(1, int(np.sqrt(rows * cols / max_patches)))
    samples = windows[::stride, ::stride].reshape(-1, patch, patch)
    rng = np.random.default_rng(seed)
    if len(samples) > max_patches:
        samples = samples[rng.choice(len(samples), max_patches, replace=False)]
    flat = samples.reshape(len(samples), -1)
    texture = (np.diff(samples, axis=2) ** 2).sum(axis=(1, 2)) + (np.diff(samples, axis=1) ** 2).sum(axis=(1, 2))
    # a noise-only patch's gradient energy is Gamma(n / 2, 2 sigma^2 tr(D'D) / n) for n pixels, D the forward
    # differences (tr(Dh'Dh + Dv'Dv) = 4 p (p - 1)); patches below its 99th percentile count as weak texture
    n = patch * patch
    threshold_factor = 2.0 * 4.0 * patch * (patch - 1) / n * gammaincinv(n / 2, 0.99)  # per unit variance
    variance = _smallest_eigenvalue(flat)  # all patches, then the weak-textured ones
    for _ in range(5):
        keep = texture < threshold_factor * variance
        if keep.sum() < 4 * flat.shape[1]:
            # too few patches look like noise alone: a small, richly textured picture, where texture would
            # pass for noise; the weakest-textured tenth of the patches (selected, so if anything low) instead
            least = np.argsort(texture)[: max(len(flat) // 10, min(len(flat), 4 * flat.shape[1]))]
            variance = min(variance, _smallest_eigenvalue(flat[least]))
            break
        updated = _smallest_eigenvalue(flat[keep])
        if abs(updated - variance) <= 1e-6 * max(variance, 1e-12):
            variance = updated
            break
        variance = updated
    return float(np.sqrt(variance))


@dataclass(frozen=True)
class Assessment:
    """What a photo has been through, and which kind of model suits it."""

    quality: int | None  # JPEG quality it was last saved at (None: no sign of JPEG)
    quality_from: str  # "file" (its quantisation tables), "pixels" (their lattice) or "" (none)
    noise: float  # luminance noise, 8-bit levels
    clean: bool  # the clean-image model suits it better than the photo model
    reason: str  # in plain words, for the status line and the result's notes
    aliasing: float = 0.0  # see aliasing()

    def judged(self, noise_limit: float, aliasing_limit: float = ALIASED) -> Assessment:
        """The same measurements, the choice made with other limits (the x2 models')."""
        return _judge(self.quality, self.quality_from, self.noise, noise_limit, self.aliasing, aliasing_limit)


def assess(pixels: np.ndarray, jpeg_quality: int | None = None) -> Assessment:
    """Measure a photo (``jpeg_quality``: from its file's tables, when it has them) and choose (for the x4
    models; :meth:`Assessment.judged` chooses again for the x2 ones)."""
    y = luma(pixels)
    quality, source = ((jpeg_quality, "file") if jpeg_quality is not None
                       else (_quality_from_luma(y, _saturated(pixels)), "pixels"))
    if quality is None:
        source = ""
    noise = _noise_from_luma(y)
    return _judge(quality, source, noise, CLEAN_NOISE, _aliasing_from_luma(y, noise), ALIASED)


def aliasing(pixels: np.ndarray) -> float:
    """How much power the luminance has just below its Nyquist frequency against its middle frequencies,
    noise discounted (the module's text): ~0.05-0.12 for a cleanly reduced photo, ~0.15-0.4 for one reduced
    by taking every k-th pixel."""
    y = luma(pixels)
    return _aliasing_from_luma(y, _noise_from_luma(y))


def _aliasing_from_luma(y: np.ndarray, noise: float, tile: int = 64, per_side: int = 8) -> float:
    if min(y.shape) < MIN_SIDE_FOR_ALIASING:  # too small a picture to tell aliasing from its noise and detail
        return 0.0
    window = np.outer(np.hanning(tile), np.hanning(tile))
    power = np.zeros((tile, tile))
    tops = np.linspace(0, y.shape[0] - tile, min(per_side, y.shape[0] // tile)).astype(int)
    lefts = np.linspace(0, y.shape[1] - tile, min(per_side, y.shape[1] // tile)).astype(int)
    for top in tops:
        for left in lefts:
            crop = y[top:top + tile, left:left + tile].astype(np.float64)
            power += np.abs(np.fft.fft2((crop - crop.mean()) * window)) ** 2
    power /= len(tops) * len(lefts)
    frequency = np.fft.fftfreq(tile)
    radius = np.hypot(frequency[:, None], frequency[None, :]) / 0.5  # in units of the Nyquist frequency
    floor = noise**2 * float((window**2).sum())  # white noise's expected power per frequency
    middle = float(power[(radius > 0.3) & (radius <= 0.5)].mean()) - floor
    if middle < floor:  # hardly any detail above the noise there (a smooth picture): nothing to judge by
        return 0.0
    # only power clearly above the noise counts (the noise measure is good to 10-15 %)
    high = float(power[(radius > 0.75) & (radius <= 1.0)].mean()) - NOISE_MARGIN * floor
    return max(high, 0.0) / middle


def _judge(quality: int | None, source: str, noise: float, noise_limit: float, aliased: float,
           aliasing_limit: float) -> Assessment:
    if quality is not None and quality < CLEAN_QUALITY:
        return Assessment(quality, source, noise, False, f"JPEG quality {quality}: compression to clean up", aliased)
    if noise > noise_limit:
        return Assessment(quality, source, noise, False, f"noise of {noise:.1f} levels to clean up", aliased)
    if aliased > aliasing_limit:
        return Assessment(quality, source, noise, False, "jagged, aliased detail (reduced without smoothing) to "
                          "smooth out", aliased)
    saved = "lossless" if quality is None else f"JPEG quality {quality}"
    return Assessment(quality, source, noise, True, f"{saved} and little noise ({noise:.1f} levels): detail to keep",
                      aliased)
