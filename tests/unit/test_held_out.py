"""bench/held_out.py's damage: each condition makes the picture it names, the same one every time."""

from __future__ import annotations

import numpy as np
import pytest

from bench.held_out import CONDITIONS, _motion_kernel, damaged
from srdesk.core.metrics import to_uint8
from srdesk.core.resample import matlab_bicubic


def picture(size: int = 96) -> np.ndarray:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:size, 0:size] / size
    smooth = np.stack([0.5 + 0.3 * np.sin(6 * x + k) * np.cos(4 * y - k) for k in range(3)], axis=2)
    return to_uint8(np.clip(smooth + 0.05 * rng.standard_normal(smooth.shape), 0, 1))


@pytest.mark.parametrize("condition", CONDITIONS)
def test_each_condition_reduces_x4_to_8_bits_the_same_way_every_time(condition: str) -> None:
    hr = picture()
    lr = damaged(hr, 4, "Set14/a.png", condition)
    assert lr.shape == (24, 24, 3) and lr.dtype == np.uint8
    np.testing.assert_array_equal(lr, damaged(hr, 4, "Set14/a.png", condition))
    assert abs(float(lr.mean()) - float(hr.mean())) < 6  # a reduction of the picture, not something else


def test_the_conditions_differ_as_named() -> None:
    hr = picture()
    np.testing.assert_array_equal(damaged(hr, 4, "k", "subsample"), hr[2::4, 2::4])
    bicubic = to_uint8(matlab_bicubic(hr / 255, (24, 24)))
    q40 = damaged(hr, 4, "k", "q40")
    assert 0 < np.abs(q40.astype(int) - bicubic).mean() < 12  # a lossy copy of the bicubic reduction
    sharp = damaged(hr, 4, "k", "sharpened").astype(float)
    assert sharp.std() > bicubic.std()  # the unsharp mask adds contrast
    kernel = _motion_kernel(9, 0.0)
    assert kernel.sum() == pytest.approx(1.0) and np.count_nonzero(kernel.sum(axis=1)) == 1  # a horizontal line
    assert np.count_nonzero(kernel.sum(axis=0)) == 9
