"""A face box: sampled by the faces model, blended into the enlarged photo, the rest untouched."""

from __future__ import annotations

import numpy as np
import pytest

from srdesk.core.errors import InvalidParameter
from srdesk.core.request import EnhanceRequest
from srdesk.engine import pipeline, regions
from srdesk.engine.regions import Box


def test_box_is_squared_around_its_centre_and_kept_inside() -> None:
    assert Box(10, 10, 30, 20).squared(100, 100) == Box(10, 5, 30, 25)
    assert Box(0, 0, 10, 30).squared(100, 100) == Box(0, 0, 30, 30)  # pushed inside at the edge
    assert Box(90, 90, 100, 100).squared(50, 200).bottom <= 50


def test_feather_mask_is_one_inside_and_fades_at_the_border() -> None:
    mask = regions.feather_mask(40)
    assert mask[20, 20] == 1.0 and mask[0, 0] < 0.1 and mask[0, 20] < 0.1
    assert np.all(np.diff(mask[20, :20]) >= 0)


def test_needs_a_box_only_for_samplers_on_more_than_a_small_face() -> None:
    assert regions.needs_a_box("sampler", 40, 30)
    assert not regions.needs_a_box("sampler", 16, 16)
    assert not regions.needs_a_box("learned", 4000, 3000)


def test_enhance_box_replaces_only_the_box(tiny_sampler) -> None:
    rng = np.random.default_rng(0)
    photo = rng.random((40, 48, 3)).astype(np.float32)
    request = EnhanceRequest(model=tiny_sampler.name, scale=4, samples=2, device="cpu", seed=3)
    results = regions.enhance_box(request, photo, Box(12, 10, 28, 26))
    base = pipeline.enhance(photo, "lanczos", 4).pixels
    assert len(results) == 2 and results[0].pixels.shape == (160, 192, 3)
    for result in results:
        outside = np.ones(base.shape[:2], bool)
        outside[40:104, 48:112] = False  # the 16 px box, x4
        np.testing.assert_array_equal(result.pixels[outside], base[outside])
        assert np.abs(result.pixels[60:84, 68:92] - base[60:84, 68:92]).mean() > 0.02  # the face was replaced
    assert not np.array_equal(results[0].pixels, results[1].pixels)  # two different samples
    assert "face box 16x16" in results[0].meta.notes[-1]


def test_enhance_box_needs_a_sampling_model() -> None:
    with pytest.raises(InvalidParameter, match="not a sampling model"):
        regions.enhance_box(EnhanceRequest(model="bicubic"), np.zeros((20, 20, 3), np.float32), Box(0, 0, 8, 8))


@pytest.mark.parametrize("box", [Box(20, 12, 44, 30), Box(0, 0, 17, 9), Box(50, 35, 64, 48)])
def test_a_preview_region_has_the_full_results_pixels(tiny_model, photo: np.ndarray, box: Box) -> None:
    """Inside the photo and at its edges: the context around the box makes it the full result's part."""
    request = EnhanceRequest(model="tiny-x4", scale=4, device="cpu", precision="exact")
    full = pipeline.run(request, photo)[0].pixels
    part = regions.enhance_region(request, photo, box).pixels
    assert part.shape == (box.height * 4, box.width * 4, 3)
    np.testing.assert_allclose(part, full[box.top * 4 : box.bottom * 4, box.left * 4 : box.right * 4], atol=1e-5)
    # without the context it would not be (the test above is not vacuous)
    bare = regions.enhance_region(request.with_(overlap=0), photo, box).pixels
    assert np.abs(bare - full[box.top * 4 : box.bottom * 4, box.left * 4 : box.right * 4]).max() > 1 / 255


@pytest.fixture
def textured_model():
    """A registered x4 SPAN with a texture head (noise drawn by position) and fixed random weights."""
    import torch

    from srdesk.models import registry
    from srdesk.models.span import SPAN, receptive_radius

    def build() -> torch.nn.Module:
        torch.manual_seed(0)
        net = SPAN(scale=4, num_blocks=2, channels=8, texture=4, texture_hidden=8)
        assert net.texture is not None
        with torch.no_grad():
            net.texture.amplitude.bias.fill_(1.0)  # texture that shows
        return net

    entry = registry.ModelEntry("textured-x4", "learned", "tiny random test model with drawn texture", scale=4,
                                build=build, receptive_radius=receptive_radius(2, 0, texture=True))
    registry.register(entry)
    pipeline.clear_model_cache()
    yield entry
    registry.unregister("textured-x4")
    pipeline.clear_model_cache()


def test_a_preview_of_a_model_that_draws_texture_draws_what_the_full_result_has_there(
        textured_model, photo: np.ndarray) -> None:
    request = EnhanceRequest(model="textured-x4", scale=4, device="cpu", precision="exact")
    full = pipeline.run(request, photo)[0].pixels
    box = Box(30, 20, 52, 40)
    part = regions.enhance_region(request, photo, box).pixels
    np.testing.assert_allclose(part, full[80:160, 120:208], atol=1e-5)
    # the texture is drawn by position: the same pixels enlarged as a photo of their own draw another one
    alone = pipeline.run(request, np.ascontiguousarray(photo[box.top : box.bottom, box.left : box.right]))[0].pixels
    assert np.abs(alone[24:-24, 24:-24] - full[104:136, 144:184]).max() > 1 / 255


def test_a_preview_at_an_uneven_scale_lines_up_with_the_full_result(photo: np.ndarray) -> None:
    request = EnhanceRequest(model="bicubic", scale=2.5)
    full = pipeline.run(request, photo)[0].pixels  # 120x160
    box = Box(10, 8, 30, 24)
    part = regions.enhance_region(request, photo, box).pixels
    assert part.shape == (40, 50, 3)
    np.testing.assert_allclose(part, full[20:60, 25:75], atol=1e-4)


def test_preview_box_keeps_a_small_view_and_shrinks_a_large_one_around_its_centre() -> None:
    assert regions.preview_box(Box(-5, 10, 50, 40), 100, 200, max_pixels=10_000) == Box(0, 10, 50, 40)
    big = regions.preview_box(Box(0, 0, 400, 200), 300, 500, max_pixels=20_000)
    assert big.width * big.height <= 20_000 and abs(big.width / big.height - 2) < 0.05
    assert abs((big.left + big.right) / 2 - 200) <= 1 and abs((big.top + big.bottom) / 2 - 100) <= 1
    outside = regions.preview_box(Box(500, 400, 600, 500), 300, 500)  # scrolled past the photo
    assert 0 <= outside.left < outside.right <= 500 and 0 <= outside.top < outside.bottom <= 300


def test_a_sampling_model_has_no_preview(tiny_sampler) -> None:
    request = EnhanceRequest(model=tiny_sampler.name, scale=4, device="cpu")
    with pytest.raises(InvalidParameter, match="guess"):
        regions.enhance_region(request, np.zeros((16, 16, 3), np.float32), Box(0, 0, 8, 8))
