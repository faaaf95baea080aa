"""NIQE: natural photos score lower (better) than the same photos blurred or noisy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage

from srdesk.core import niqe
from srdesk.core.evaluate import load_ground_truth
from srdesk.core.metrics import to_uint8
from tests.conftest import shared_data


def test_pristine_model_shape() -> None:
    mu, cov = niqe.pristine_model()
    assert mu.shape == (36,) and cov.shape == (36, 36)
    np.testing.assert_allclose(cov, cov.T)


def test_mscn_of_a_flat_image_is_zero_and_of_texture_is_unit_scale() -> None:
    assert np.abs(niqe.mscn(np.full((64, 64), 120.0))[8:-8, 8:-8]).max() < 1e-5
    texture = np.random.default_rng(0).normal(128, 30, (128, 128))
    coefficients = niqe.mscn(texture)[8:-8, 8:-8]
    assert 0.5 < coefficients.std() < 1.5


def test_aggd_recovers_a_gaussian() -> None:
    samples = np.random.default_rng(1).normal(0, 2.0, 200_000)
    alpha, mean, left, right = niqe.aggd(samples)
    assert alpha == pytest.approx(2.0, abs=0.05)  # shape 2: Gaussian
    # the AGGD scale beta = sigma sqrt(Gamma(1/a) / Gamma(3/a)): sigma sqrt(2) for a Gaussian
    assert left == pytest.approx(2.0 * np.sqrt(2), rel=0.02) and right == pytest.approx(2.0 * np.sqrt(2), rel=0.02)
    assert abs(mean) < 0.02


@pytest.mark.data
@pytest.mark.parametrize("name", ["barbara.png", "lenna.png", "monarch.png"])
def test_damage_makes_a_photo_less_natural(name: str) -> None:
    photo = load_ground_truth(shared_data("benchmarks", "Set14", name))
    clean = niqe.niqe(photo)
    blurred = to_uint8(np.stack([scipy.ndimage.gaussian_filter(photo[..., c] / 255.0, 2.5) for c in range(3)], 2))
    noisy = to_uint8(photo / 255.0 + np.random.default_rng(2).normal(0, 0.08, photo.shape))
    assert niqe.niqe(blurred) > clean + 1
    assert niqe.niqe(noisy) > clean + 1


def test_too_small_images_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 193x193"):
        niqe.niqe(np.zeros((150, 300, 3), np.uint8))
