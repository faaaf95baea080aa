"""The automatic method: one model per photo, chosen by what the photo has been through."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srdesk.core import analysis, imageio
from srdesk.core.errors import InvalidParameter
from srdesk.core.request import EnhanceRequest
from srdesk.engine import pipeline, regions
from srdesk.models import registry


def photo(seed: int = 0, size: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    base = np.stack([0.5 + 0.3 * np.sin(5 * x + k) * np.cos(3 * y - k) for k in range(3)], axis=2) * 255
    return np.clip(base + rng.normal(0, 4, base.shape), 0, 255).astype(np.uint8)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    Image.fromarray(photo()).save(tmp_path / "web.jpg", quality=70)
    Image.fromarray(photo()).save(tmp_path / "render.png")
    return {"web": tmp_path / "web.jpg", "render": tmp_path / "render.png"}


@pytest.mark.parametrize(("kind", "scale", "chosen"), [("web", 4, "photo-x4"), ("render", 4, "clean-x4"),
                                                       ("web", 2, "photo-x2"), ("render", 2, "clean-x2")])
def test_each_photo_is_enlarged_by_the_model_its_damage_calls_for(files: dict[str, Path], kind: str, scale: int,
                                                                   chosen: str) -> None:
    image = imageio.load(files[kind])
    request = EnhanceRequest(model="auto", scale=scale, precision="exact")
    result = pipeline.run(request, image)[0]
    expected = pipeline.run(request.with_(model=chosen), imageio.load(files[kind]))[0]
    np.testing.assert_array_equal(result.pixels, expected.pixels)
    assert any(note.startswith(f"automatic: {chosen} \u2013 ") for note in result.meta.notes)
    assert not any(note.startswith("automatic") for note in expected.meta.notes)


def test_the_preview_of_a_part_is_that_part_of_the_whole_photos_choice(files: dict[str, Path]) -> None:
    image = imageio.load(files["render"])
    request = EnhanceRequest(model="auto", scale=4, precision="exact")
    whole = pipeline.run(request, image)[0].pixels
    box = regions.Box(20, 8, 52, 40)  # too small a part to measure on its own: the choice is the photo's
    part = regions.enhance_region(request, image, box)
    np.testing.assert_allclose(part.pixels, whole[32:160, 80:208], atol=1e-5)
    assert any(note.startswith("automatic: clean-x4") for note in part.meta.notes)


def test_the_automatic_method_is_the_default_and_has_no_network_of_its_own() -> None:
    entry = registry.get("auto")
    assert registry.default_model() == "auto" and entry.installed() and registry.get("auto-x4") is entry
    for scale, native in ((8, 4), (4, 4), (3, 4), (2.5, 4), (2, 2), (1.5, 2)):
        pair = entry.choices_for(scale)  # the native models of the scale asked for, or the next above
        assert set(pair) == {f"photo-x{native}", f"clean-x{native}"}
        assert all(registry.get(name).scale == native for name in pair)
        assert f"photo-x{native}" in entry.quality() and f"clean-x{native}" in entry.quality()
    with pytest.raises(InvalidParameter, match="chooses a model per photo"):
        registry.load("auto")


def test_an_earlier_name_of_the_automatic_method_still_works(files: dict[str, Path]) -> None:
    request = EnhanceRequest(model="auto-x4", scale=4, precision="exact")
    result = pipeline.run(request, imageio.load(files["render"]))[0]
    expected = pipeline.run(request.with_(model="clean-x4"), imageio.load(files["render"]))[0]
    np.testing.assert_array_equal(result.pixels, expected.pixels)


@pytest.mark.parametrize(("scale", "chosen"), [(4, "clean-x4"), (2, "photo-x2")])
def test_at_x2_a_little_noise_already_calls_for_the_photo_model(files: dict[str, Path], scale: int,
                                                                chosen: str) -> None:
    image = imageio.load(files["render"])
    image.meta.assessment = analysis.Assessment(None, "", 3.5, True, "")  # measured: 3.5 levels of noise
    request, note = pipeline.resolve(EnhanceRequest(model="auto", scale=scale), image)
    assert request.model == chosen and note.startswith(f"automatic: {chosen} \u2013 ")
