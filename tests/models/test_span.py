"""The SPAN-style efficient generator: shapes, its receptive field, seamless tiles, and cost against SRResNet."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from srdesk.models import registry
from srdesk.models.base import TorchUpscaler
from srdesk.models.span import SPAN, receptive_radius, widened_state
from srdesk.models.tiled import run_tiled


def _random_span(scale: int, blocks: int = 2, channels: int = 8, out_refine: int = 0) -> SPAN:
    torch.manual_seed(0)
    net = SPAN(scale=scale, num_blocks=blocks, channels=channels, out_refine=out_refine).eval()
    for p in net.parameters():  # larger than the init so that every path carries signal
        p.data.normal_(0, 0.3)
    return net


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_output_shape(scale: int) -> None:
    net = SPAN(scale=scale, num_blocks=2, channels=8).eval()
    with torch.no_grad():
        assert net(torch.rand(2, 3, 7, 9)).shape == (2, 3, 7 * scale, 9 * scale)


def test_paper_size_and_a_fraction_of_srresnets_work() -> None:
    """48 channels x 6 blocks: about the paper's 0.43 M parameters, and far fewer multiply-adds than SRResNet 16x64."""
    from srdesk.models.srresnet import SRResNet

    span = SPAN(4, 6, 48)
    assert 0.40e6 < sum(p.numel() for p in span.parameters()) < 0.45e6

    def multiply_adds(net: torch.nn.Module, size: int = 16) -> int:
        total = 0

        def count(module: torch.nn.Module, _inputs: object, output: torch.Tensor) -> None:
            nonlocal total
            assert isinstance(module, torch.nn.Conv2d)
            total += output[0].numel() * module.in_channels * module.kernel_size[0] * module.kernel_size[1]

        hooks = [m.register_forward_hook(count) for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
        with torch.no_grad():
            net(torch.rand(1, 3, size, size))
        for h in hooks:
            h.remove()
        return total

    assert multiply_adds(span) * 4 < multiply_adds(SRResNet(4, 16, 64, batch_norm=False, image_skip=True))


@pytest.mark.parametrize("out_refine", [0, 4])
def test_receptive_radius_is_exact(out_refine: int) -> None:
    """A change of one input pixel reaches exactly ``receptive_radius`` pixels away (in input pixels), no further."""
    blocks, scale = 2, 2
    net = _random_span(scale, blocks, out_refine=out_refine)
    radius = receptive_radius(blocks, out_refine)
    x = torch.rand(1, 3, 41, 41)
    poked = x.clone()
    poked[0, :, 20, 20] += 0.5
    with torch.no_grad():
        diff = (net(poked) - net(x)).abs().amax(dim=(0, 1))
    rows = torch.nonzero(diff.amax(dim=1) > 0).flatten()
    reach = max(20 * scale - int(rows.min()), int(rows.max()) - (20 * scale + scale - 1))
    # the last conv works at input resolution, so an output pixel sees whole input pixels: reach in input px
    # (out_refine's two output-resolution convs add 2 output pixels: one input pixel more at x2)
    assert (reach + scale - 1) // scale == radius


def test_tiled_equals_untiled_with_the_registry_radius() -> None:
    params = {"arch": "span", "scale": 4, "num_blocks": 2, "channels": 8, "image_skip": True}
    arch = registry.architecture("span")
    net = _random_span(4)
    upscaler = TorchUpscaler("span-test", net, 4, torch.device("cpu"), receptive_radius=arch.receptive_radius(params),
                             bytes_per_input_pixel=arch.bytes_per_input_pixel(params))
    image = np.random.default_rng(0).random((37, 45, 3), dtype=np.float32)
    whole = run_tiled(upscaler, image, tile=1000, overlap=0)
    tiled = run_tiled(upscaler, image, tile=12, overlap=arch.receptive_radius(params))
    assert tiled.shape == whole.shape == (148, 180, 3)
    assert np.abs(tiled - whole).max() < 1 / 255
    short = run_tiled(upscaler, image, tile=12, overlap=2)  # too little context shows seams
    assert np.abs(short - whole).max() > 1 / 255


def test_output_refinement_starts_as_the_network_without_it_and_works_at_the_output_resolution() -> None:
    """--out-refine can continue from weights trained without it: at first the output is the same; what it
    learns acts across the tiles the pixel shuffle makes (one output pixel's change reaches its neighbours
    in the next input pixel's tile)."""
    plain = _random_span(4)
    refined = SPAN(scale=4, num_blocks=2, channels=8, out_refine=8).eval()
    missing = refined.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert missing and all(k.startswith("refine.") for k in missing)
    x = torch.rand(1, 3, 9, 9)
    with torch.no_grad():
        assert torch.equal(refined(x), plain(x))
        assert refined.refine is not None
        for p in refined.refine.parameters():
            p.normal_(0, 0.3)
        out = refined(x)
        assert not torch.allclose(out, plain(x))
    params = {"arch": "span", "scale": 4, "num_blocks": 2, "channels": 8, "image_skip": True, "out_refine": 8}
    built = registry.architecture("span").build(params)
    assert set(built.state_dict()) == set(refined.state_dict())
    assert registry.architecture("span").receptive_radius(params) >= receptive_radius(2, 8)
    # its output-resolution maps count in the tile budget
    plain_params = {k: v for k, v in params.items() if k != "out_refine"}
    assert (registry.architecture("span").bytes_per_input_pixel(params)
            >= registry.architecture("span").bytes_per_input_pixel(plain_params) + 4 * 8 * 16)


@pytest.mark.parametrize("out_refine", [0, 6])
def test_widened_network_computes_the_same_and_learns_with_its_new_channels(out_refine: int) -> None:
    """A narrower SPAN's weights placed in a wider one give the same output; the new channels get gradients."""
    narrow = _random_span(4, blocks=3, channels=6, out_refine=out_refine)
    torch.manual_seed(1)
    wide = SPAN(scale=4, num_blocks=3, channels=10, out_refine=out_refine)
    wide.load_state_dict(widened_state(wide, narrow.state_dict()))
    x = torch.rand(2, 3, 9, 11)
    with torch.no_grad():
        torch.testing.assert_close(wide(x), narrow(x), rtol=1e-4, atol=5e-5)  # summation order only
    wide.zero_grad()
    (wide(x) - torch.rand(2, 3, 36, 44)).abs().mean().backward()
    grad = wide.body[1].c1.weight.grad
    assert grad is not None
    assert grad[:6, 6:].abs().sum() > 0  # weights from new channels into old ones move
    assert wide.fuse.weight.grad is not None and wide.fuse.weight.grad[:6, 16:20].abs().sum() > 0
    with pytest.raises(ValueError, match="widen"):
        widened_state(narrow, wide.state_dict())


def _textured_span(scale: int = 4, blocks: int = 2) -> SPAN:
    """A random SPAN with a texture head large enough that its texture shows."""
    torch.manual_seed(0)
    net = SPAN(scale=scale, num_blocks=blocks, channels=8, texture=4, texture_hidden=8).eval()
    for p in net.parameters():
        p.data.normal_(0, 0.3)
    assert net.texture is not None
    with torch.no_grad():
        net.texture.amplitude.bias.fill_(1.0)
    return net


def test_texture_strength_zero_is_the_network_without_it_and_strength_scales_the_texture() -> None:
    textured = _textured_span()
    assert textured.texture is not None and textured.positional
    plain = SPAN(scale=4, num_blocks=2, channels=8).eval()
    missing = plain.load_state_dict(textured.state_dict(), strict=False)
    assert not missing.missing_keys and all(k.startswith("texture.") for k in missing.unexpected_keys)
    x = torch.rand(1, 3, 24, 28)
    with torch.no_grad():
        full = textured(x)
        textured.texture.strength = 0.0
        assert torch.equal(textured(x), plain(x))
        textured.texture.strength = 0.5
        half = textured(x)
        texture, half_texture = full - plain(x), half - plain(x)
    assert texture.abs().mean() > 1e-3
    assert 0.2 < float(half_texture.abs().mean() / texture.abs().mean()) < 0.8


def test_texture_is_luminance_detail_without_a_brightness_shift() -> None:
    """The same change to R, G and B (no colour speckle), and high-passed: each 16 px area keeps its mean."""
    net = _textured_span()
    plain = SPAN(scale=4, num_blocks=2, channels=8).eval()
    plain.load_state_dict(net.state_dict(), strict=False)
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        texture = net(x) - plain(x)
    rms = texture.pow(2).mean().sqrt()
    # (the differences of two large outputs: float rounding is relative to the outputs' size)
    torch.testing.assert_close(texture[:, 0], texture[:, 1], rtol=0, atol=1e-5 * float(rms))
    torch.testing.assert_close(texture[:, 0], texture[:, 2], rtol=0, atol=1e-5 * float(rms))
    # (this random head's shaping convolutions have biases as large as their weights: a constant that the
    # high-pass removes; what is left in a 16 px area's mean is the noise's own, about rms / 16 per area)
    assert abs(float(texture.mean())) < 0.02 * float(rms)
    area_means = torch.nn.functional.avg_pool2d(texture[:, :1], 16)
    assert float(area_means.abs().max()) < 0.2 * float(rms)


def test_texture_is_the_same_in_tiles_and_in_a_crop_at_its_place_and_differs_elsewhere() -> None:
    """The noise follows the position in the photo: tiles and a preview's crop draw what the whole image draws
    there (with the registry's radius), and the texture is not a pattern that repeats with the input."""
    params = {"arch": "span", "scale": 4, "num_blocks": 2, "channels": 8, "image_skip": True, "texture": 4,
              "texture_hidden": 8}
    arch = registry.architecture("span")
    assert set(arch.build(params).state_dict()) == set(_textured_span().state_dict())
    radius = arch.receptive_radius(params)
    upscaler = TorchUpscaler("span-test", _textured_span(), 4, torch.device("cpu"), receptive_radius=radius)
    image = np.random.default_rng(0).random((37, 45, 3), dtype=np.float32)
    whole = run_tiled(upscaler, image, tile=1000, overlap=0)
    tol = 1e-6 * float(np.abs(whole).max())  # float rounding of this random network's large outputs
    tiled = run_tiled(upscaler, image, tile=12, overlap=radius)
    assert np.abs(tiled - whole).max() < tol
    short = run_tiled(upscaler, image, tile=12, overlap=radius - 5)  # the head needs its extra context
    assert np.abs(short - whole).max() > 100 * tol
    top, left = 9, 14
    crop = np.ascontiguousarray(image[top:, left:])
    part = run_tiled(upscaler, crop, tile=1000, overlap=0, origin=(top, left))
    r = 4 * radius  # the crop's own edge lacks context
    np.testing.assert_allclose(part[r:, r:], whole[4 * top + r :, 4 * left + r :], atol=tol)
    elsewhere = run_tiled(upscaler, crop, tile=1000, overlap=0)  # the same pixels drawn as if at the corner
    assert np.abs(elsewhere[r:, r:] - part[r:, r:]).max() > 100 * tol


@pytest.mark.parametrize("size", [(1, 1), (1, 7), (2, 3)])
def test_a_texture_head_enlarges_a_photo_a_pixel_high(size: tuple[int, int]) -> None:
    """The high-pass's padding needs more pixels than its radius: a 1 px photo's 4 px result repeats its edge."""
    net = _textured_span()
    with torch.no_grad():
        out = net(torch.rand(1, 3, *size))
    assert out.shape == (1, 3, 4 * size[0], 4 * size[1]) and torch.isfinite(out).all()


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_bicubic_reduce_is_matlabs_imresize(factor: int) -> None:
    """The second pass's reduction is the benchmark protocol's reduction (MATLAB bicubic), borders included."""
    from srdesk.core.resample import matlab_bicubic
    from srdesk.models.span import BicubicReduce

    image = np.random.default_rng(factor).random((7 * factor, 5 * factor, 3))
    x = torch.from_numpy(image).permute(2, 0, 1).unsqueeze(0)
    reduced = BicubicReduce(factor).double()(x)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(reduced, matlab_bicubic(image, (7, 5)), atol=1e-9)


def _two_pass_span(scale: int = 4, blocks: int = 2) -> SPAN:
    torch.manual_seed(0)
    net = SPAN(scale=scale, num_blocks=blocks, channels=8, second_pass=True).eval()
    for p in net.parameters():  # signal through every path, reaching far (at 0.1 it fades within a few pixels)
        p.data.normal_(0, 0.2)
    return net


def test_second_pass_enlarges_the_first_pass_result_reduced_again() -> None:
    """The two-pass network is exactly two single-pass networks with the reduction between them, so each pass
    can start from a single-pass network's weights (the second's under ``second.``)."""
    from srdesk.models.span import BicubicReduce

    net = _two_pass_span()
    first, second = SPAN(4, 2, 8).eval(), SPAN(4, 2, 8).eval()
    state = net.state_dict()
    first.load_state_dict({k: v for k, v in state.items() if not k.startswith("second.")})
    second.load_state_dict({k[len("second."):]: v for k, v in state.items() if k.startswith("second.")})
    x = torch.rand(1, 3, 13, 11)
    with torch.no_grad():
        composed = second(BicubicReduce(4)(first(x).clamp(0, 1)))
        torch.testing.assert_close(net(x), composed, rtol=0, atol=1e-6)
        assert not torch.allclose(net(x), first(x), atol=1e-3)
    params = {"arch": "span", "scale": 4, "num_blocks": 2, "channels": 8, "image_skip": True, "second_pass": True}
    assert set(registry.architecture("span").build(params).state_dict()) == set(state)
    with pytest.raises(ValueError, match="texture"):
        SPAN(4, 2, 8, texture=4, second_pass=True)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_two_pass_receptive_radius_is_exact_and_tiles_are_seamless(scale: int) -> None:
    blocks = 2
    net = _two_pass_span(scale, blocks)
    radius = receptive_radius(blocks, second_pass=True)
    x = torch.rand(1, 3, 61, 61, dtype=torch.float64)  # (in float32 the farthest, smallest changes round away)
    poked = x.clone()
    poked[0, :, 30, 30] += 0.3
    with torch.no_grad():
        diff = (net.double()(poked) - net(x)).abs().amax(dim=(0, 1))
        net.float()
    rows = torch.nonzero(diff.amax(dim=1) > 0).flatten()
    reach = max(30 * scale - int(rows.min()), int(rows.max()) - (30 * scale + scale - 1))
    assert (reach + scale - 1) // scale == radius
    params = {"arch": "span", "scale": scale, "num_blocks": blocks, "channels": 8, "image_skip": True,
              "second_pass": True}
    assert registry.architecture("span").receptive_radius(params) == radius
    upscaler = TorchUpscaler("span-test", net, scale, torch.device("cpu"), receptive_radius=radius)
    image = np.random.default_rng(0).random((37, 45, 3), dtype=np.float32)
    whole = run_tiled(upscaler, image, tile=1000, overlap=0)
    tiled = run_tiled(upscaler, image, tile=12, overlap=radius)
    assert np.abs(tiled - whole).max() < 1e-5
    # one pass's context is not enough: the first pass's result at the second pass's context needs its own
    short = run_tiled(upscaler, image, tile=12, overlap=receptive_radius(blocks))
    assert np.abs(short - whole).max() > 1e-3
