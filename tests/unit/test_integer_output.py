"""Results for saving and showing: integer levels written as tiles finish, no float copy of the whole result."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from PIL import Image

from srdesk.core import imageio, resample
from srdesk.core.imageio import ImageMeta, LoadedImage, encode, from_array, quantize
from srdesk.core.request import EnhanceRequest
from srdesk.engine import pipeline


def _request(model: str, scale: float = 4, **changes: object) -> EnhanceRequest:
    return EnhanceRequest(model=model, scale=scale, device="cpu", **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("scale", [4, 3, 8])
def test_learned_integer_result_is_the_rounded_float_result(tiny_model, photo: np.ndarray, scale: float) -> None:
    exact = pipeline.run(_request("tiny-x4", scale, tile=16), photo)[0]
    levels = pipeline.run(_request("tiny-x4", scale, tile=16, integer_output=True), photo)[0]
    assert levels.pixels.dtype == np.uint8 and levels.pixels.shape == exact.pixels.shape
    assert np.array_equal(levels.pixels, quantize(exact.pixels, 8))


def test_sixteen_bit_sources_give_sixteen_bit_results(tiny_model, photo: np.ndarray) -> None:
    source = from_array(photo, alpha=np.linspace(0, 1, photo.shape[1], dtype=np.float32)[None].repeat(48, 0),
                        meta=ImageMeta(bit_depth=16))
    exact = pipeline.run(_request("tiny-x4"), source)[0]
    levels = pipeline.run(_request("tiny-x4", integer_output=True), source)[0]
    assert levels.pixels.dtype == np.uint16 and levels.alpha is not None and levels.alpha.dtype == np.uint16
    assert np.array_equal(levels.pixels, quantize(exact.pixels, 16))
    assert exact.alpha is not None and np.array_equal(levels.alpha, quantize(exact.alpha, 16))


@pytest.mark.parametrize("method", ["bicubic", "lanczos", "bilinear", "nearest"])
def test_pillows_methods_give_pillows_own_8_bit_result(photo: np.ndarray, method: str) -> None:
    """What a Pillow user gets from Image.resize on the 8-bit photo, to the level (it rounds and clips between
    its two passes, so it can differ from the float path by a few levels where ringing overshoots)."""
    photo8 = np.round(photo * 255).astype(np.uint8)
    source = from_array(photo8 / np.float32(255), alpha=np.full(photo.shape[:2], 0.5, np.float32))
    levels = pipeline.run(_request(method, 3.5, integer_output=True), source)[0]
    expected = Image.fromarray(photo8).resize((224, 168), resample.PILLOW_FILTERS[method])
    assert levels.pixels.dtype == np.uint8 and np.array_equal(levels.pixels, np.asarray(expected))
    assert levels.alpha is not None and np.abs(levels.alpha.astype(int) - 128).max() <= 1
    mid = from_array((64 + photo8 // 2) / np.float32(255))  # no overshoot to clip: the float path to a level
    difference = np.abs(pipeline.run(_request(method, 3.5, integer_output=True), mid)[0].pixels.astype(int)
                        - np.rint(pipeline.run(_request(method, 3.5), mid)[0].pixels * 255))
    # the rounding after the first pass, carried through the second's weights (sum |w| 1.3 for Lanczos)
    assert difference.max() <= 2 and difference.mean() < 0.35  # measured: 1 level on about a fifth of pixels


@pytest.mark.parametrize("method", ["hermite", "bspline", "fft"])
def test_srdesks_own_methods_round_their_float_result(photo: np.ndarray, method: str) -> None:
    exact = pipeline.run(_request(method, 2.5), photo)[0]
    levels = pipeline.run(_request(method, 2.5, integer_output=True), photo)[0]
    assert np.array_equal(levels.pixels, quantize(exact.pixels, 8))


@pytest.mark.parametrize("model", ["tiny-x4", "bicubic"])
def test_no_float_copy_of_the_whole_result_is_made(tiny_model, model: str) -> None:
    """numpy's allocations (traced) stay well below one float32 copy of the result: tiles are quantised as they
    finish and the classical path resizes in 8 bits."""
    photo = np.random.default_rng(0).random((200, 240, 3)).astype(np.float32)
    photo = np.round(photo * 255) / 255
    float_result_bytes = 800 * 960 * 3 * 4
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = pipeline.run(_request(model, tile=64, integer_output=True), photo)[0]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.pixels.dtype == np.uint8
    # the 8-bit result is a quarter of the float one; Pillow's tobytes() briefly doubles its copy
    assert peak < 0.6 * float_result_bytes, f"{peak / 1e6:.1f} MB traced for a {float_result_bytes / 1e6:.1f} MB result"
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        pipeline.run(_request(model, tile=64), photo)
        _, float_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert float_peak > float_result_bytes  # the measurement sees a float result when there is one


@pytest.mark.parametrize("grayscale", [False, True])
@pytest.mark.parametrize("alpha", [False, True])
@pytest.mark.parametrize("fmt, bits", [("PNG", 8), ("PNG", 16), ("TIFF", 16), ("JPEG", 8)])
def test_integer_pixels_encode_like_their_float_values(tmp_path, grayscale: bool, alpha: bool, fmt: str,
                                                       bits: int) -> None:
    rng = np.random.default_rng(1)
    peak = 2**bits - 1
    levels = rng.integers(0, peak + 1, (33, 47, 3)).astype(np.uint16 if bits == 16 else np.uint8)
    alpha_levels = rng.integers(0, peak + 1, (33, 47)).astype(levels.dtype) if alpha else None
    meta = ImageMeta(bit_depth=bits, grayscale=grayscale)
    as_float = encode(levels.astype(np.float32) / peak, None if alpha_levels is None else
                      alpha_levels.astype(np.float32) / peak, meta, fmt, 95)
    as_levels = encode(levels, alpha_levels, meta, fmt, 95)
    assert as_float == as_levels
    if fmt != "JPEG" and not grayscale and not alpha:  # lossless formats keep every level
        (tmp_path / "x").write_bytes(as_levels)
        assert np.array_equal(np.rint(imageio.load(tmp_path / "x").pixels * peak), levels)


def test_an_integer_result_saves_and_shows(tmp_path, tiny_model, photo: np.ndarray) -> None:
    result = pipeline.run(_request("tiny-x4", integer_output=True), photo)[0]
    written = imageio.save(result, tmp_path / "out.png")
    assert np.array_equal(np.asarray(Image.open(written)), result.pixels)
    assert isinstance(result, LoadedImage) and np.allclose(result.float_pixels() * 255, result.pixels)


@pytest.mark.parametrize("kind", ["rgb", "gray", "rgba", "rgb16"])
def test_files_load_as_their_own_levels_and_enlarge_the_same(tmp_path, rng: np.random.Generator, kind: str) -> None:
    """``load(levels=True)`` (the batch's way) keeps 8/16-bit levels: no float copy of the source, and
    every method gives what it gives from the float load."""
    import png

    path = tmp_path / "in.png"
    if kind == "rgb16":
        data = rng.integers(0, 65536, (12, 10, 3), dtype=np.uint16)
        png.Writer(10, 12, greyscale=False, bitdepth=16).write(path.open("wb"), data.reshape(12, 30).tolist())
    else:
        channels = {"rgb": 3, "gray": 1, "rgba": 4}[kind]
        data = rng.integers(0, 256, (12, 10, channels), dtype=np.uint8)
        Image.fromarray(data[:, :, 0] if channels == 1 else data).save(path)
    floats = imageio.load(path)
    levels = imageio.load(path, levels=True)
    assert levels.pixels.dtype == (np.uint16 if kind == "rgb16" else np.uint8) and levels.pixels.shape == (12, 10, 3)
    assert np.array_equal(levels.float_pixels(), floats.pixels)
    assert (levels.alpha is None) == (kind != "rgba")
    if levels.alpha is not None:
        assert levels.alpha.dtype == np.uint8 and np.array_equal(levels.float_alpha(), floats.alpha)
    assert levels.meta.grayscale == (kind == "gray")
    for method in ("bicubic", "hermite"):
        a = pipeline.run(_request(method, 3, integer_output=True), floats)[0]
        b = pipeline.run(_request(method, 3, integer_output=True), levels)[0]
        assert np.array_equal(a.pixels, b.pixels)
        assert (a.alpha is None and b.alpha is None) or np.array_equal(a.alpha, b.alpha)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_pillow_made_results_are_saved_as_they_are_and_shown_the_same(tmp_path, rng: np.random.Generator,
                                                                      fmt: str) -> None:
    """Pillow's resizes of 8-bit RGB sources stay Pillow images until something asks for the array:
    the written file has the bytes the array would have given, and the array is Pillow's result."""
    path = tmp_path / "in.jpg"
    Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(path, quality=90)
    source = imageio.load(path, levels=True)
    result = pipeline.run(_request("lanczos", 3, integer_output=True), source)[0]
    assert isinstance(result, imageio.PictureResult) and result.size == (72, 60)
    with Image.open(path) as im:
        pillow = np.asarray(im.convert("RGB").resize((72, 60), Image.Resampling.LANCZOS))
    data = encode(result.encodable(), result.alpha, result.meta, fmt)
    assert data == encode(pillow, None, result.meta, fmt)
    assert np.array_equal(result.pixels, pillow)  # the view's array, made on first use
    assert result.picture is None and result.encodable() is result.pixels
    # what needs changing before writing (alpha, grey) goes the array way, with the same pixels
    grey = imageio.load(path, levels=True)
    grey.meta.grayscale = True
    assert not isinstance(pipeline.run(_request("lanczos", 3, integer_output=True), grey)[0], imageio.PictureResult)
    picture = imageio.PictureResult(Image.fromarray(pillow), imageio.ImageMeta(grayscale=True))
    assert encode(picture.encodable(), None, picture.meta, "PNG") == encode(pillow, None, picture.meta, "PNG")
