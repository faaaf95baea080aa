"""The one enhance path: tiling is invisible, progress and cancel work, alpha and scales."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from srdesk.core import resample
from srdesk.core.errors import Cancelled, InvalidParameter
from srdesk.core.imageio import from_array
from srdesk.core.tiling import plan_tiles
from srdesk.engine import pipeline


def test_tiles_cover_the_image_exactly_once() -> None:
    covered = np.zeros((50, 37), dtype=int)
    for t in plan_tiles(50, 37, 16, 5):
        y0, x0 = t.core_origin
        covered[y0 : y0 + t.core_bottom - t.core_top, x0 : x0 + t.core_right - t.core_left] += 1
        assert t.core_top <= 5 and t.core_left <= 5
        assert t.top >= 0 and t.bottom <= 50 and t.right <= 37
    assert (covered == 1).all()


def test_tiled_equals_untiled_for_a_model_inside_its_overlap(tiny_model, photo: np.ndarray) -> None:
    untiled = pipeline.enhance(photo, "tiny-x4", 4, tile=1000, overlap=0, device="cpu").pixels
    tiled = pipeline.enhance(photo, "tiny-x4", 4, tile=16, overlap=12, device="cpu").pixels
    assert tiled.shape == untiled.shape == (192, 256, 3)
    assert np.abs(tiled - untiled).max() < 1 / 255


def test_too_little_overlap_shows_seams(tiny_model, photo: np.ndarray) -> None:
    """The equality above is not vacuous: without context the tiles differ at their borders."""
    untiled = pipeline.enhance(photo, "tiny-x4", 4, tile=1000, overlap=0, device="cpu").pixels
    seamy = pipeline.enhance(photo, "tiny-x4", 4, tile=16, overlap=0, device="cpu").pixels
    assert np.abs(seamy - untiled).max() > 1 / 255


def test_progress_is_reported_per_tile(tiny_model, photo: np.ndarray) -> None:
    calls: list[tuple[int, int]] = []
    pipeline.enhance(photo, "tiny-x4", 4, tile=16, overlap=4, device="cpu", progress=lambda d, t: calls.append((d, t)))
    total = len(plan_tiles(48, 64, 16, 4))
    assert calls == [(i, total) for i in range(1, total + 1)]


def test_cancel_between_tiles(tiny_model, photo: np.ndarray) -> None:
    cancel = threading.Event()
    seen = []

    def progress(done: int, total: int) -> None:
        seen.append(done)
        if done == 2:
            cancel.set()

    with pytest.raises(Cancelled):
        pipeline.enhance(photo, "tiny-x4", 4, tile=16, overlap=4, device="cpu", progress=progress, cancel=cancel)
    assert seen == [1, 2]  # stopped within one tile of the request


def test_classical_matches_resample(photo: np.ndarray) -> None:
    out = pipeline.enhance(photo, "lanczos", 3).pixels
    np.testing.assert_allclose(out, np.clip(resample.lanczos(photo, (144, 192)), 0, 1))


def test_output_is_clipped(photo: np.ndarray) -> None:
    spiky = np.zeros_like(photo)
    spiky[::4, ::4] = 1.0
    out = pipeline.enhance(spiky, "lanczos", 4).pixels
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_alpha_is_enlarged_alongside(tiny_model, photo: np.ndarray) -> None:
    alpha = np.zeros(photo.shape[:2], dtype=np.float32)
    alpha[:, 32:] = 1.0
    for method in ("bicubic", "tiny-x4"):
        out = pipeline.enhance(from_array(photo, alpha=alpha), method, 4, device="cpu")
        assert out.alpha is not None and out.alpha.shape == (192, 256)
        assert out.alpha[:, :120].max() < 0.05 and out.alpha[:, 136:].min() > 0.95


def test_learned_model_other_scales(tiny_model, photo: np.ndarray) -> None:
    assert pipeline.model_passes(4, 2) == 1 and pipeline.model_passes(4, 4) == 1
    assert pipeline.model_passes(4, 8) == 1 and pipeline.model_passes(4, 16) == 2
    assert pipeline.enhance(photo, "tiny-x4", 2, device="cpu").pixels.shape == (96, 128, 3)
    assert pipeline.enhance(photo, "tiny-x4", 3, device="cpu").pixels.shape == (144, 192, 3)


def test_bad_scale(photo: np.ndarray) -> None:
    with pytest.raises(InvalidParameter):
        pipeline.enhance(photo, "bicubic", 0.5)


def test_auto_tile_is_bounded(tiny_model) -> None:
    upscaler = pipeline.get_upscaler("tiny-x4", "cpu")
    tile = pipeline.auto_tile_size(upscaler)
    assert pipeline.MIN_TILE <= tile <= pipeline.MAX_TILE
    # the chosen tile's activations fit the CPU budget
    assert tile * tile * upscaler.bytes_per_input_pixel <= pipeline.CPU_TILE_BUDGET_BYTES


def test_one_pixel_images(tiny_model) -> None:
    for shape in ((1, 1, 3), (1, 7, 3), (5, 1, 3)):
        image = np.full(shape, 0.5, dtype=np.float32)
        for method in ("bicubic", "fft", "bspline", "tiny-x4"):
            out = pipeline.enhance(image, method, 4, device="cpu").pixels
            assert out.shape == (shape[0] * 4, shape[1] * 4, 3)


def test_a_result_that_cannot_fit_in_memory_is_refused_before_any_work(monkeypatch: pytest.MonkeyPatch) -> None:
    from srdesk.core.errors import ImageTooLarge

    image = from_array(np.zeros((100, 120, 3), np.float32))
    monkeypatch.setattr(pipeline, "free_ram", lambda: 1_000_000)  # 1 MB free
    enlarged: list[object] = []
    monkeypatch.setattr(pipeline.ClassicalUpscaler, "enlarge", lambda *a, **k: enlarged.append(a) or [])
    with pytest.raises(ImageTooLarge, match=r"480\u00d7400 .*GB of memory.*enlarge less"):
        pipeline.run(pipeline.EnhanceRequest(model="bicubic", scale=4), image)  # 192,000 px x 12 bytes x 2
    assert not enlarged
    monkeypatch.undo()
    # 8-bit results take a quarter of float32's bytes: 2 x 576 kB fits in 1.2 MB
    monkeypatch.setattr(pipeline, "free_ram", lambda: 1_200_000)
    request = pipeline.EnhanceRequest(model="bicubic", scale=4, integer_output=True)
    assert pipeline.run(request, image)[0].size == (480, 400)
    monkeypatch.setattr(pipeline, "free_ram", lambda: None)  # unknown (not Linux): no refusal
    assert pipeline.run(request.with_(integer_output=False), image)[0].size == (480, 400)
