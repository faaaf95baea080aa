"""The realistic degradation pipeline: each operation's statistics, and reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from srdesk.core.evaluate import make_pair, real_degradation
from srdesk.training import degrade
from srdesk.training.degrade import Degradation


@pytest.mark.parametrize("shape", ["gaussian", "generalized", "plateau"])
def test_blur_kernels_sum_to_one_and_have_the_asked_spread(shape: str) -> None:
    kernel = degrade.anisotropic_kernel(21, 2.0, 2.0, 0.0, beta=1.0, shape=shape)
    assert kernel.shape == (21, 21)
    assert kernel.sum() == pytest.approx(1.0, abs=1e-12)
    assert kernel[10, 10] == kernel.max()
    if shape == "gaussian":
        r = np.arange(21) - 10
        variance_x = float((kernel.sum(axis=0) * r**2).sum())
        assert variance_x == pytest.approx(4.0, rel=0.02)  # sigma 2 (truncation at +-10 is negligible)


def test_anisotropic_kernel_is_elongated_along_its_angle() -> None:
    kernel = degrade.anisotropic_kernel(21, 4.0, 0.5, 0.0)
    r = np.arange(21) - 10
    var_x = float((kernel.sum(axis=0) * r**2).sum())
    var_y = float((kernel.sum(axis=1) * r**2).sum())
    assert var_x > 10 * var_y
    rotated = degrade.anisotropic_kernel(21, 4.0, 0.5, np.pi / 2)
    np.testing.assert_allclose(rotated, kernel.T, atol=1e-12)


def test_sinc_kernel_is_a_lowpass_that_rings() -> None:
    kernel = degrade.sinc_kernel(21, np.pi / 3)
    assert kernel.sum() == pytest.approx(1.0, abs=1e-12)
    assert kernel.min() < 0  # negative side lobes: the ringing it is there to make
    spectrum = np.abs(np.fft.fft2(kernel, (64, 64)))
    assert spectrum[0, 0] == pytest.approx(1.0, abs=1e-6)
    assert spectrum[32, 32] < 0.1  # the highest frequency is removed


def test_filter_keeps_a_flat_image_flat() -> None:
    image = torch.full((3, 40, 40), 0.3)
    out = degrade.filter2d(image, degrade.anisotropic_kernel(15, 3.0, 1.0, 0.7))
    torch.testing.assert_close(out, image, atol=1e-6, rtol=0)


def test_gaussian_noise_has_the_asked_level_and_gray_noise_is_the_same_in_every_channel() -> None:
    gen = torch.Generator().manual_seed(1)
    image = torch.full((3, 256, 256), 0.5)
    noisy = degrade.gaussian_noise(image, 10.0, gray=False, generator=gen) - image
    assert float(noisy.std()) * 255 == pytest.approx(10.0, rel=0.03)
    assert abs(float(noisy.mean())) < 1e-3
    gray = degrade.gaussian_noise(image, 10.0, gray=True, generator=gen) - image
    torch.testing.assert_close(gray[0], gray[2])


def test_poisson_noise_grows_with_intensity() -> None:
    gen = torch.Generator().manual_seed(2)
    dark = torch.full((3, 128, 128), 0.05)
    bright = torch.full((3, 128, 128), 0.8)
    d = degrade.poisson_noise(dark, 1.0, gray=False, generator=gen) - dark
    b = degrade.poisson_noise(bright, 1.0, gray=False, generator=gen) - bright
    # Var = I / 256 for counts ~ Poisson(256 I): sigma ~ sqrt(I / 256)
    assert float(b.std()) == pytest.approx(np.sqrt(0.8 / 256), rel=0.05)
    assert float(d.std()) == pytest.approx(np.sqrt(0.05 / 256), rel=0.1)


def test_jpeg_round_trip_loses_more_at_low_quality() -> None:
    rng = np.random.default_rng(0)
    smooth = torch.from_numpy(rng.random((3, 8, 8)).astype(np.float32))
    image = torch.nn.functional.interpolate(smooth[None], size=(64, 64), mode="bicubic")[0].clamp(0, 1)
    errors = {q: float((degrade.jpeg(image, q) - image).abs().mean()) for q in (20, 60, 95)}
    assert errors[20] > errors[60] > errors[95]
    assert errors[95] < 4 / 255 < errors[20]
    assert degrade.jpeg(image, 90).shape == image.shape


def test_pipeline_output_size_range_and_reproducibility() -> None:
    hr = torch.rand(4, 3, 64, 64)
    config = Degradation(scale=4)
    a = degrade.degrade_batch(hr, config, np.random.default_rng(5))
    b = degrade.degrade_batch(hr, config, np.random.default_rng(5))
    c = degrade.degrade_batch(hr, config, np.random.default_rng(6))
    assert a.shape == (4, 3, 16, 16)
    torch.testing.assert_close(a, b, atol=0, rtol=0)
    assert not torch.equal(a, c)
    assert float(a.min()) >= 0 and float(a.max()) <= 1
    torch.testing.assert_close(a * 255, (a * 255).round(), atol=1e-4, rtol=0)  # 8-bit values


def test_degraded_inputs_differ_from_the_clean_reduction_and_clean_share_passes_through() -> None:
    rng = np.random.default_rng(3)
    hr = torch.from_numpy(rng.random((2, 3, 32, 32)).astype(np.float32))
    clean = torch.nn.functional.avg_pool2d(hr, 2)
    out = degrade.degrade_batch(hr, Degradation(scale=2, clean_prob=1.0), rng, clean=clean)
    torch.testing.assert_close(out, clean)
    out = degrade.degrade_batch(hr, Degradation(scale=2), rng, clean=clean)
    assert float((out - clean).abs().mean()) > 0.01


def test_sensor_noise_follows_the_poisson_gaussian_model() -> None:
    gen = torch.Generator().manual_seed(4)
    for level in (0.1, 0.8):
        image = torch.full((3, 256, 256), level)
        noise = degrade.sensor_noise(image, 0.004, 3.0, gray=False, generator=gen) - image
        assert float(noise.std()) == pytest.approx(np.sqrt(0.004 * level + (3 / 255) ** 2), rel=0.03)
        assert abs(float(noise.mean())) < 1e-3
    gray = degrade.sensor_noise(torch.full((3, 64, 64), 0.5), 0.004, 3.0, gray=True, generator=gen)
    torch.testing.assert_close(gray[0], gray[1])


def test_camera_path_is_one_antialiased_reduction_with_its_own_noise_and_jpeg() -> None:
    # fine stripes (period 3 HR pixels, far above the LR Nyquist frequency): an anti-aliased reduction
    # leaves them flat grey, the non-anti-aliased resize of the second-order path turns them into coarse bands
    stripes = torch.zeros(3, 96, 96)
    stripes[:, :, ::3] = 1.0
    quiet = degrade.CameraStage(sigma=(1.2, 1.2), aniso_prob=0.0, shot=(0, 0), read=(0, 0), jpeg_prob=0.0)
    for seed in range(6):  # every resize mode
        out = degrade.camera_one(stripes, quiet, 4, np.random.default_rng(seed), torch.Generator().manual_seed(0))
        assert out.shape == (3, 24, 24)
        inner = out[:, 1:-1, 1:-1]  # (at the borders the kernel is cut)
        assert float((inner - stripes.mean()).abs().max()) < 0.03
    for mode in ("bilinear", "bicubic"):
        smooth = degrade.resize(stripes, (24, 24), mode, antialias=True)[:, 1:-1, 1:-1]
        assert float((smooth - stripes.mean()).abs().max()) < 0.03
        aliased = degrade.resize(stripes, (24, 24), mode)
        assert float((aliased - stripes.mean()).abs().max()) > 0.15
    # with camera_prob = 1 every sample takes the camera path: noise as asked, 8-bit, reproducible
    flat = torch.full((2, 3, 64, 64), 0.5)
    noisy = degrade.CameraStage(sigma=(0.5, 0.5), shot=(0.0, 0.0), read=(8.0, 8.0), gray_prob=0.0, jpeg_prob=0.0)
    config = Degradation(scale=4, camera_prob=1.0, camera=noisy)
    a = degrade.degrade_batch(flat, config, np.random.default_rng(9))
    b = degrade.degrade_batch(flat, config, np.random.default_rng(9))
    torch.testing.assert_close(a, b, atol=0, rtol=0)
    assert float((a - 0.5).std()) * 255 == pytest.approx(8.0, rel=0.15)
    torch.testing.assert_close(a * 255, (a * 255).round(), atol=1e-4, rtol=0)
    assert Degradation(camera_prob=0.5).milder(0.6).camera_prob == 0.5


def test_milder_scales_the_damage_down() -> None:
    mild = Degradation().milder(0.5)
    assert mild.stage1.gaussian_sigma == (0.5, 15.0)
    assert mild.stage1.jpeg_quality[0] == 62
    assert mild.blur1.sigma[1] == pytest.approx(1.6)


def test_evaluation_real_degradation_is_fixed_per_image_and_damages_it() -> None:
    rng = np.random.default_rng(0)
    hr = (rng.random((64, 64, 3)) * 255).astype(np.uint8)
    _, a = make_pair(hr, 4, "real", key="Set5/a.png")
    _, b = make_pair(hr, 4, "real", key="Set5/a.png")
    _, other = make_pair(hr, 4, "real", key="Set5/b.png")
    _, clean = make_pair(hr, 4, "clean")
    assert a.shape == clean.shape == (16, 16, 3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, other)
    assert np.abs(a.astype(float) - clean).mean() > 1.0
    assert real_degradation(hr, 4, "x").dtype == np.uint8


def test_unsharp_mask_steepens_edges_and_leaves_flat_areas_and_faint_texture_alone() -> None:
    edge = torch.zeros(1, 3, 32, 32)
    edge[..., 16:] = 0.8
    sharp = degrade.unsharp_mask(edge, weight=1.0, sigma=2.0, threshold=0.0)
    # overshoot on both sides of the edge (clipped at 0 below), unchanged far from it
    assert sharp[0, 0, 5, 17] > 0.8 + 0.05 and sharp[0, 0, 5, 15] == 0.0
    assert torch.allclose(sharp[..., :6], edge[..., :6], atol=1e-3)
    assert torch.allclose(sharp[..., 26:], edge[..., 26:], atol=1e-3)
    assert float(sharp.min()) >= 0.0 and float(sharp.max()) <= 1.0
    # gradient energy grows with the weight
    energy = [float(degrade.unsharp_mask(edge + 0.1, w, 2.0, 0.0).diff(dim=-1).pow(2).sum()) for w in (0.0, 0.5, 1.0)]
    assert energy[0] < energy[1] < energy[2]
    # below the threshold nothing changes (faint noise is not amplified)
    faint = 0.5 + 0.004 * torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    assert torch.equal(degrade.unsharp_mask(faint, 2.0, 2.0, threshold=10 / 255), faint)
    assert not torch.equal(degrade.unsharp_mask(faint, 2.0, 2.0, threshold=0.0), faint)


@pytest.mark.parametrize("size", [7, 13, 15, 21])
@pytest.mark.parametrize("shape", [(3, 40, 56), (3, 9, 12)])  # the small one pads by replication
def test_filter_by_fft_and_directly_agree(size: int, shape: tuple[int, int, int]) -> None:
    """Large kernels are convolved through the FFT, small ones directly: both are the same reflect-padded
    correlation (checked against a plain conv2d of the padded image), an asymmetric kernel included."""
    image = torch.rand(shape, generator=torch.Generator().manual_seed(size))
    kernel = degrade.anisotropic_kernel(size, 3.0, 1.0, 0.7)
    kernel[0, -1] += 0.05  # no symmetry left: a flipped kernel would show
    pad = size // 2
    mode = "reflect" if min(shape[1:]) > pad else "replicate"
    padded = torch.nn.functional.pad(image[None].double(), (pad,) * 4, mode=mode)
    weight = torch.as_tensor(kernel).expand(3, 1, size, size)
    expected = torch.nn.functional.conv2d(padded, weight, groups=3)[0].float()
    out = degrade.filter2d(image, kernel)
    assert out.shape == image.shape
    torch.testing.assert_close(out, expected, atol=2e-6, rtol=0)


def test_the_benchmark_degradation_leaves_one_damage_out_with_every_other_draw_kept() -> None:
    """real_degradation(noise=False / jpeg=False), for bench.damage_ablation: on a flat grey photo the blur and
    reduction alone keep it flat, the noise alone is the documented sensor noise, and the full degradation is
    that very noisy image saved as a JPEG at a quality of the documented range (same noise field, same quality
    draw)."""
    import io

    from PIL import Image

    hr = np.full((128, 96, 3), 100, dtype=np.uint8)
    neither = real_degradation(hr, 4, "flat", noise=False, jpeg=False)
    assert neither.shape == (32, 24, 3) and (neither == 100).all()
    noisy = real_degradation(hr, 4, "flat", jpeg=False)
    deviation = noisy.astype(np.float64) - 100
    assert 0.5 < deviation.std() < 11 and abs(deviation.mean()) < 1
    full = real_degradation(hr, 4, "flat")
    np.testing.assert_array_equal(full, real_degradation(hr, 4, "flat", noise=True, jpeg=True))

    def saved(quality: int) -> np.ndarray:
        buffer = io.BytesIO()
        Image.fromarray(noisy).save(buffer, format="JPEG", quality=quality)
        return np.asarray(Image.open(buffer).convert("RGB"))

    assert [q for q in range(60, 86) if np.array_equal(saved(q), full)]
    jpeg_only = real_degradation(hr, 4, "flat", noise=False)
    assert np.abs(jpeg_only.astype(int) - 100).max() <= 1  # a flat image survives the JPEG
