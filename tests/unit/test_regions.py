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
