"""Measuring what a photo has been through (JPEG quality, noise) and choosing a model by it."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from srdesk.core import analysis, imageio


def scene(size: int = 256, seed: int = 0) -> np.ndarray:
    """A smooth photo-like picture: a few soft shapes and gradients, no noise of its own."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    channels = []
    for _ in range(3):
        value = 0.5 + 0.2 * np.sin(2 * np.pi * (rng.uniform(0.5, 2) * x + rng.uniform(0.5, 2) * y))
        cy, cx = rng.uniform(0.2, 0.8, 2)
        value += 0.25 * ((x - cx) ** 2 + (y - cy) ** 2 < 0.05)  # an object with an edge
        channels.append(value)
    return np.clip(np.stack(channels, axis=2) * 255, 0, 255)


def as_jpeg(pixels: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(np.round(pixels).astype(np.uint8)).save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("RGB"))


def test_the_standard_table_is_libjpegs_at_quality_50_and_each_quality_is_read_back_from_its_table() -> None:
    assert analysis.ijg_table(50).tolist() == analysis.IJG_LUMINANCE.tolist()
    for quality in (30, 60, 75, 85, 90, 95):
        buffer = io.BytesIO()
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(buffer, format="JPEG", quality=quality)
        buffer.seek(0)
        with Image.open(buffer) as im:
            table = im.quantization[0]
        assert list(table) == analysis.ijg_table(quality).tolist()  # Pillow's tables: natural order, libjpeg's
        assert analysis.quality_from_table(list(table)) == quality


def test_a_jpeg_file_carries_its_quality_into_the_loaded_image(tmp_path: Path) -> None:
    Image.fromarray(scene(64).astype(np.uint8)).save(tmp_path / "web.jpg", quality=72)
    Image.fromarray(scene(64).astype(np.uint8)).save(tmp_path / "lossless.png")
    assert imageio.load(tmp_path / "web.jpg").meta.jpeg_quality == 72
    assert imageio.load(tmp_path / "lossless.png").meta.jpeg_quality is None


@pytest.mark.parametrize("quality", [55, 70, 85, 90])
def test_the_quality_is_read_from_the_pixels_of_a_decoded_jpeg(quality: int) -> None:
    rng = np.random.default_rng(quality)
    textured = scene() + rng.normal(0, 6, (256, 256, 3))  # coefficients off zero at every frequency
    decoded = as_jpeg(textured, quality)
    assert analysis.quality_from_pixels(decoded) == quality
    assert analysis.quality_from_pixels(decoded.astype(np.float32) / 255) == quality  # the engine's floats too


def test_pixels_that_were_never_a_jpeg_or_were_resized_since_show_no_quality() -> None:
    rng = np.random.default_rng(1)
    textured = np.clip(scene() + rng.normal(0, 6, (256, 256, 3)), 0, 255)
    assert analysis.quality_from_pixels(np.round(textured).astype(np.uint8)) is None
    resized = Image.fromarray(as_jpeg(textured, 60)).resize((200, 200), Image.Resampling.LANCZOS)
    assert analysis.quality_from_pixels(np.asarray(resized)) is None


@pytest.mark.parametrize("sigma", [2.0, 5.0, 10.0])
def test_the_noise_level_is_measured_on_a_picture_with_edges_and_gradients(sigma: float) -> None:
    rng = np.random.default_rng(int(sigma))
    grey_noise = rng.normal(0, sigma, (256, 256, 1))  # alike in all channels: the luminance's sigma is sigma
    noisy = scene() + grey_noise
    assert analysis.noise_level(noisy.astype(np.float32) / 255) == pytest.approx(sigma, rel=0.15)
    assert analysis.noise_level(scene()) < 0.5


def test_the_choice_follows_the_damage() -> None:
    rng = np.random.default_rng(3)
    clean = np.round(scene()).astype(np.uint8)
    assert analysis.assess(clean).clean
    web = as_jpeg(clean + rng.normal(0, 1, clean.shape), 70)
    verdict = analysis.assess(web)
    assert not verdict.clean and verdict.quality == 70 and verdict.quality_from == "pixels"
    assert "JPEG quality 70" in verdict.reason
    assert not analysis.assess(clean, jpeg_quality=75).clean  # the file's own tables count first
    camera = as_jpeg(clean.astype(np.float64), 92)
    assert analysis.assess(camera).clean
    noisy = np.clip(clean + rng.normal(0, 12, (*clean.shape[:2], 1)), 0, 255).astype(np.uint8)
    verdict = analysis.assess(noisy)
    assert not verdict.clean and "noise" in verdict.reason


def test_the_x2_models_are_given_a_lower_noise_limit() -> None:
    """Noise between the two limits: the clean-image model at x4, the photo model at x2."""
    measured = analysis.Assessment(None, "", 3.5, True, "")
    assert analysis.CLEAN_NOISE_X2 < 3.5 <= analysis.CLEAN_NOISE
    assert analysis.assess(np.zeros((64, 64, 3), np.uint8)).judged(analysis.CLEAN_NOISE).clean
    assert measured.judged(analysis.CLEAN_NOISE).clean
    verdict = measured.judged(analysis.CLEAN_NOISE_X2)
    assert not verdict.clean and "noise of 3.5 levels" in verdict.reason


def natural(size: int = 1024, seed: int = 0) -> np.ndarray:
    """A picture with about natural pictures' amplitude spectrum (1/f^1.1, random phases), grey, 8-bit range."""
    rng = np.random.default_rng(seed)
    f = np.hypot(np.fft.fftfreq(size)[:, None], np.fft.fftfreq(size)[None, :])
    spectrum = np.exp(2j * np.pi * rng.random((size, size))) / np.maximum(f, 1 / size) ** 1.1
    field = np.real(np.fft.ifft2(spectrum))
    field = 128 + 10 * field / field.std()
    return np.repeat(np.clip(field, 0, 255)[:, :, None], 3, axis=2)


def test_a_photo_reduced_by_taking_every_4th_pixel_goes_to_the_photo_model_a_cleanly_reduced_one_does_not() -> None:
    from srdesk.core.resample import matlab_bicubic

    big = natural()
    reduced = np.round(matlab_bicubic(big / 255, (256, 256)) * 255).astype(np.uint8)
    subsampled = np.round(big[1::4, 2::4]).astype(np.uint8)
    assert analysis.aliasing(reduced) < analysis.ALIASED / 2 < analysis.ALIASED < analysis.aliasing(subsampled)
    assert analysis.assess(reduced).clean
    verdict = analysis.assess(subsampled)
    assert not verdict.clean and "aliased" in verdict.reason and verdict.aliasing > analysis.ALIASED
    # mild noise adds flat power near the Nyquist frequency, which the measure discounts
    rng = np.random.default_rng(5)
    noisy = np.clip(reduced + rng.normal(0, 3, (256, 256, 1)), 0, 255).astype(np.uint8)
    assert analysis.aliasing(noisy) < analysis.ALIASED < analysis._aliasing_from_luma(analysis.luma(noisy), 0.0)
    assert analysis.assess(noisy).clean
    # too small a picture is not judged
    assert analysis.aliasing(subsampled[:64, :64]) == 0.0
    # the x2 choice keeps the measure, with its own (higher) limit
    assert analysis.ALIASED < analysis.ALIASED_X2
    above = analysis.Assessment(None, "", 1.0, True, "", aliasing=analysis.ALIASED_X2 + 0.05)
    assert not above.judged(analysis.CLEAN_NOISE_X2, analysis.ALIASED_X2).clean
    between = analysis.Assessment(None, "", 1.0, True, "", aliasing=(analysis.ALIASED + analysis.ALIASED_X2) / 2)
    assert not between.judged(analysis.CLEAN_NOISE).clean
    assert between.judged(analysis.CLEAN_NOISE, analysis.ALIASED_X2).clean


def test_the_quality_is_read_past_saturated_colours() -> None:
    """Bright, saturated colours: the decoder clipped red, green or blue in half the blocks, which moves their
    luminance off the lattice; the blocks without such pixels still tell the quality."""
    rng = np.random.default_rng(2)
    vivid = np.clip(scene(256, 4) * 1.8 + rng.normal(0, 3, (256, 256, 3)), 0, 255).astype(np.uint8)
    sharpened = np.asarray(Image.fromarray(vivid).filter(ImageFilter.UnsharpMask(2, 150, 0)))
    decoded = as_jpeg(sharpened.astype(np.float64), 85)
    assert (decoded >= 255).any(axis=2).mean() > 0.4
    assert analysis._quality_from_blocks(analysis.luma(decoded), None) is None  # the luminance's clipping alone
    assert analysis.quality_from_pixels(decoded) == 85
    assert analysis.assess(decoded).quality == 85 and not analysis.assess(decoded).clean
