"""The detail ratio: 1 for the reference itself, below 1 when blurred, above 1 with added noise."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage

from srdesk.core.metrics import detail_ratio, to_uint8


@pytest.fixture
def image() -> np.ndarray:
    rng = np.random.default_rng(0)
    return to_uint8(scipy.ndimage.gaussian_filter(rng.random((96, 96, 3)), (1.5, 1.5, 0)) * 3 - 1)


def test_reference_against_itself_is_one(image: np.ndarray) -> None:
    assert detail_ratio(image, image, shave=4) == pytest.approx(1.0)


def test_blur_lowers_and_noise_raises_it(image: np.ndarray) -> None:
    blurred = to_uint8(scipy.ndimage.gaussian_filter(image / 255.0, (2, 2, 0)))
    noisy = to_uint8(image / 255.0 + np.random.default_rng(1).normal(0, 0.05, image.shape))
    assert detail_ratio(blurred, image, shave=4) < 0.6
    assert detail_ratio(noisy, image, shave=4) > 1.1


def test_it_is_a_ratio_of_rms_gradients(image: np.ndarray) -> None:
    halved = (image.astype(np.float64) - 128) * 0.5 + 128  # half the contrast: half the gradients
    assert detail_ratio(halved, image.astype(np.float64)) == pytest.approx(0.5, abs=0.01)
