"""Discriminators: anti-aliased downsampling spreads the gradient the generator gets evenly over pixel phases."""

from __future__ import annotations

import pytest
import torch

from srdesk.models.discriminators import blur_pool, build_discriminator


def _phase_spread(kind: str, antialias: bool) -> float:
    """Spread (std / mean) over the 16 phases (y % 4, x % 4) of |d score / d input| for a flat grey input."""
    torch.manual_seed(0)
    disc = build_discriminator(kind, base_channels=8, norm="none", antialias=antialias).eval()
    x = torch.full((1, 3, 64, 64), 0.5, requires_grad=True)
    condition = torch.full((1, 3, 16, 16), 0.5)
    disc(x, condition).sum().backward()
    assert x.grad is not None
    g = x.grad[0, :, 16:-16, 16:-16].abs().sum(0)
    phases = g.reshape(8, 4, 8, 4).mean(dim=(0, 2))
    return float(phases.std() / phases.mean())


@pytest.mark.parametrize("kind", ["patch", "unet"])
def test_antialiased_discriminators_spread_their_gradient_evenly_over_pixel_phases(kind: str) -> None:
    """A strided convolution's gradient favours some of the 4x4 sub-pixel phases a x4 pixel shuffle writes, and
    the generator learnt a 4 px grid from that; blur-pooled downsampling spreads it evenly."""
    plain, antialiased = _phase_spread(kind, False), _phase_spread(kind, True)
    assert antialiased < 0.5 * plain


@pytest.mark.parametrize("kind", ["patch", "unet"])
def test_antialiased_discriminators_keep_the_output_layout(kind: str) -> None:
    x, condition = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 16, 16)
    shapes = [build_discriminator(kind, 8, "none", antialias=a)(x, condition).shape for a in (False, True)]
    assert shapes[0][:2] == shapes[1][:2] and shapes[1][0] == 2
    if kind == "unet":  # one logit per pixel either way
        assert shapes[0] == shapes[1] == (2, 1, 64, 64)


def test_blur_pool_halves_the_size_and_gives_every_pixel_a_quarter_of_the_gradient() -> None:
    x = torch.rand(1, 2, 16, 16, requires_grad=True)
    y = blur_pool(x)
    assert y.shape == (1, 2, 8, 8)
    y.sum().backward()
    assert x.grad is not None
    interior = x.grad[..., 2:-2, 2:-2]
    assert torch.allclose(interior, torch.full_like(interior, 0.25))


def test_the_srgan_discriminator_has_no_antialiased_variant() -> None:
    with pytest.raises(ValueError, match="no anti-aliased variant"):
        build_discriminator("srgan", 8, "batch", antialias=True)


@pytest.mark.parametrize("antialias", [False, True])
def test_a_downsampling_block_still_sees_the_finest_texture(antialias: bool) -> None:
    """A pixel checkerboard (the finest texture there is) must change what the first downsampling block
    passes on. Blurring the convolution's output before its non-linearity removed it entirely (the
    [1, 2, 1] blur is zero at that frequency); rectifying first turns it into a response the blur keeps."""
    from srdesk.models.discriminators import down_block

    torch.manual_seed(0)
    block = down_block(3, 16, antialias).eval()
    flat = torch.full((1, 3, 32, 32), 0.5)
    yy, xx = torch.meshgrid(torch.arange(32), torch.arange(32), indexing="ij")
    checker = flat + 0.5 * ((yy + xx) % 2 * 2 - 1).float()  # black and white pixels
    with torch.no_grad():
        a, b = block(flat)[..., 2:-2, 2:-2], block(checker)[..., 2:-2, 2:-2]
    # (measured: strided 0.14, rectify-then-blur 0.03, blur-then-rectify 1e-8, against outputs of ~0.1)
    assert float((b - a).abs().mean()) > 0.1 * float(a.abs().mean())


def test_feature_matching_reads_every_activation_of_nested_blocks() -> None:
    disc = build_discriminator("patch", 8, "batch", antialias=True)
    features = disc.forward_features(torch.rand(2, 3, 64, 64), torch.rand(2, 3, 16, 16))
    assert len(features) == 4  # three downsampling blocks and the last convolution, each with its LeakyReLU


def test_spectral_patch_discriminator_has_no_batch_dependence_and_bounded_layers() -> None:
    """norm="spectral": each normalised convolution's largest singular value is ~1 (after the power
    iterations of a few training passes), and a sample's score does not depend on the rest of its batch."""
    torch.manual_seed(0)
    disc = build_discriminator("patch", 8, "spectral", antialias=True)
    x, condition = torch.rand(4, 3, 64, 64), torch.rand(4, 3, 16, 16)
    for _ in range(20):  # power iteration runs in training mode
        disc(x, condition)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in disc.modules())
    normalised = [m for m in disc.modules() if isinstance(m, torch.nn.Conv2d) and hasattr(m, "parametrizations")]
    assert len(normalised) == 3  # all but the first convolution and the head
    for conv in normalised:
        sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2)
        assert 0.9 < float(sigma) < 1.1
    disc.eval()
    with torch.no_grad():
        alone = disc(x[:1], condition[:1])
        together = disc(x, condition)[:1]
    torch.testing.assert_close(alone, together)


def test_the_cell_view_scores_each_output_cell_against_its_neighbours_and_its_input_pixel() -> None:
    """phase=4: a second head sees the image unshuffled into the generator's 4x4 output cells. Changing one
    cell moves only the cell scores within one cell of it (a 3x3 view, twice: 5x5 cells); the same change
    straddling four cells moves a 6x6 block. Both heads answer as maps at the LR input's resolution."""
    torch.manual_seed(0)
    disc = build_discriminator("patch", 8, "none", antialias=True, phase=4).eval()
    x, condition = torch.rand(1, 3, 64, 64), torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        base = disc(x, condition)
        assert base.shape == (1, 2, 16, 16)

        def moved_cells(y0: int, x0: int) -> int:
            changed = x.clone()
            changed[..., y0:y0 + 4, x0:x0 + 4] += 0.5
            delta = (disc(changed, condition) - base)[0, 1]
            return int((delta.abs() > 1e-6).sum())

        assert moved_cells(32, 32) == 5 * 5  # aligned with a cell
        assert moved_cells(30, 30) == 6 * 6  # across four cells
    with pytest.raises(ValueError, match="4x its condition"):
        disc(x, torch.rand(1, 3, 32, 32))
    with pytest.raises(ValueError, match="only the patch"):
        build_discriminator("unet", 8, phase=4)


@pytest.mark.parametrize(("crop", "scale"), [(64, 4), (256, 4), (64, 2)])
def test_the_patch_and_cell_heads_weigh_the_same_in_every_loss(crop: int, scale: int) -> None:
    """The losses average over all scores; each head's last bias moves that average by exactly one half,
    however many patches and cells the crop has (at 64 px: 36 patches, 256 cells). Every patch's logit is
    among the patch map's values, none is dropped."""
    torch.manual_seed(0)
    disc = build_discriminator("patch", 8, "none", antialias=True, phase=scale)
    x, condition = torch.rand(2, 3, crop, crop), torch.rand(2, 3, crop // scale, crop // scale)
    disc(x, condition).mean().backward()
    patch_bias, cell_bias = disc.net[-1].bias, disc.cells[-1].bias
    torch.testing.assert_close(patch_bias.grad, torch.tensor([0.5]))
    torch.testing.assert_close(cell_bias.grad, torch.tensor([0.5]))
    with torch.no_grad():
        patches = disc.net(disc._paired(x, condition))
        spread = disc(x, condition)[:, 0]
    assert set(patches.flatten().tolist()) == set(spread.flatten().tolist())
