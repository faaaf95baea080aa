"""Training crops: reproducible batches, and crops from the photos reduced first (multi-scale data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from srdesk.training.data import PhotoCrops


def ramp_photo(folder: Path, size: int = 600) -> list[Path]:
    """A photo whose red rises along x and green along y by 255 levels over ``size`` px."""
    ramp = np.linspace(0, 255, size)
    rgb = np.zeros((size, size, 3), dtype=np.uint8)
    rgb[..., 0] = np.round(ramp)[None, :]
    rgb[..., 1] = np.round(ramp)[:, None]
    path = folder / "ramp.png"
    Image.fromarray(rgb).save(path)
    return [path]


def spans(hr: torch.Tensor) -> np.ndarray:
    """Each crop's extent in source pixels: the red and green ramps' range across it (flips and turns keep it)."""
    levels = hr[:, :2].flatten(2) * 255
    extent = (levels.amax(dim=2) - levels.amin(dim=2)).mean(dim=1)
    return (extent / (255 / 599)).numpy()


def test_native_crops_cover_their_size_and_reduced_ones_cover_more(tmp_path: Path) -> None:
    paths = ramp_photo(tmp_path)
    native = PhotoCrops(paths, 64, 4, seed=3)
    assert spans(native.make_batch(0, 16)[1]) == pytest.approx(63, abs=1.5)
    reduced = PhotoCrops(paths, 64, 4, seed=3, rescale_prob=1.0, rescale_min=0.5)
    extent = spans(reduced.make_batch(0, 64)[1])
    # a crop of the photo reduced by f covers 64 / f of its pixels: between 64 and 128
    assert extent.min() > 63 and extent.max() < 129
    assert extent.max() - extent.min() > 30  # the factors are drawn, not one fixed reduction
    half = PhotoCrops(paths, 64, 4, seed=3, rescale_prob=0.5, rescale_min=0.5)
    share = (spans(half.make_batch(1, 200)[1]) > 66).mean()
    assert 0.35 < share < 0.62


def test_batches_are_the_same_pixels_whenever_they_are_made(tmp_path: Path) -> None:
    paths = ramp_photo(tmp_path)
    a = PhotoCrops(paths, 64, 4, seed=5, rescale_prob=0.5, rescale_min=0.4)
    b = PhotoCrops(paths, 64, 4, seed=5, rescale_prob=0.5, rescale_min=0.4)
    first = a.make_batch(7, 6)
    b.make_batch(2, 6)
    again = b.make_batch(7, 6)
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    # rescaling off draws exactly what a run made before the option existed would draw
    off = PhotoCrops(paths, 64, 4, seed=5, rescale_prob=0.0, rescale_min=0.4)
    plain = PhotoCrops(paths, 64, 4, seed=5)
    assert torch.equal(off.make_batch(3, 6)[1], plain.make_batch(3, 6)[1])


def test_a_reduction_larger_than_the_photo_takes_the_whole_photo(tmp_path: Path) -> None:
    paths = ramp_photo(tmp_path, size=80)
    crops = PhotoCrops(paths, 64, 4, seed=1, rescale_prob=1.0, rescale_min=0.1)
    lr, hr = crops.make_batch(0, 8)
    assert hr.shape == (8, 3, 64, 64) and lr.shape == (8, 3, 16, 16)


@pytest.mark.parametrize(("prob", "smallest"), [(-0.1, 0.5), (1.5, 0.5), (0.5, 0.0), (0.5, 1.2)])
def test_impossible_rescaling_is_refused(tmp_path: Path, prob: float, smallest: float) -> None:
    with pytest.raises(ValueError, match="rescale"):
        PhotoCrops(ramp_photo(tmp_path), 64, 4, rescale_prob=prob, rescale_min=smallest)


def test_worker_processes_make_the_same_batches_in_order_and_after_a_resume(tmp_path: Path) -> None:
    """Batches made ahead by worker processes are the batches made in place, in order, at any batch size,
    and a resumed position (set_state) restarts the stream there: a run is the same with or without workers."""
    from srdesk.training.degrade import Degradation

    rng = np.random.default_rng(0)
    path = tmp_path / "noise.png"
    Image.fromarray(rng.integers(0, 256, (160, 200, 3), dtype=np.uint8)).save(path)
    degradation = Degradation(scale=4, clean_prob=0.3, camera_prob=0.5)
    ahead = PhotoCrops([path], 32, 4, seed=7, degradation=degradation, workers=2, rescale_prob=0.5, rescale_min=0.5)
    inline = PhotoCrops([path], 32, 4, seed=7, degradation=degradation, rescale_prob=0.5, rescale_min=0.5)

    def same(size: int) -> None:
        lr_a, hr_a = ahead.batch(size)
        lr_b, hr_b = inline.batch(size)
        torch.testing.assert_close(hr_a, hr_b, rtol=0, atol=0)
        torch.testing.assert_close(lr_a, lr_b, rtol=0, atol=0)

    for _ in range(3):
        same(3)
    same(2)  # another batch size: a new stream from the same position
    ahead.set_state({"index": 11})
    inline.set_state({"index": 11})
    same(2)
    same(2)
    assert ahead.state() == inline.state() == {"index": 13}
    torch.testing.assert_close(ahead.batch(2)[1], inline.make_batch(13, 2)[1], rtol=0, atol=0)
    assert not torch.equal(inline.make_batch(13, 2)[1], inline.make_batch(14, 2)[1])  # batches differ at all
