"""Pixel Recursive SR: causal masks, no blind spot, fast sampler == naive, temperature, learning."""

from __future__ import annotations

import pytest
import torch

from srdesk.models.pixel_recursive import (
    COLOURS,
    LEVELS,
    PixelRecursiveSR,
    choose,
    draw_uniforms,
    sample_fast,
    sample_naive,
    to_prior_input,
)


def tiny(seed: int = 0, layers: int = 2, kernel: int = 3) -> PixelRecursiveSR:
    torch.manual_seed(seed)
    model = PixelRecursiveSR(scale=2, cond_channels=8, cond_blocks=1, prior_channels=6, prior_layers=layers,
                             prior_kernel=kernel).eval()
    # make every weight clearly non-zero so dependencies show up in gradients
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.sign(p) + 0.01)
    return model


def influence(model: PixelRecursiveSR, i: int, j: int, c: int, size: int = 8) -> torch.Tensor:
    """|d logits(i, j, c) / d input| summed over levels: which input sub-pixels the prior reads."""
    x = torch.rand(1, COLOURS, size, size, requires_grad=True)
    logits = model.prior(x)
    logits[0, c, :, i, j].sum().backward()
    assert x.grad is not None
    return x.grad.abs()[0]


@pytest.mark.parametrize("kernel", [3, 5])
def test_prior_is_causal(kernel: int) -> None:
    model = tiny(kernel=kernel, layers=3)
    size = 8
    for i, j in [(0, 0), (3, 4), (7, 7), (5, 0)]:
        for c in range(COLOURS):
            grad = influence(model, i, j, c, size)
            for ci in range(COLOURS):
                for y in range(size):
                    for x in range(size):
                        allowed = (y, x) < (i, j) or ((y, x) == (i, j) and ci < c)
                        if not allowed:
                            assert grad[ci, y, x] == 0, f"logit ({i},{j},{c}) reads ({y},{x},{ci})"


def test_changing_a_later_pixel_never_changes_earlier_logits() -> None:
    model = tiny(layers=3)
    x = torch.rand(2, COLOURS, 8, 8)
    base = model.prior(x)
    changed = x.clone()
    changed[:, 1, 4, 5] += 0.7  # the G value of pixel (4, 5)
    after = model.prior(changed)
    order = torch.arange(64).view(8, 8)
    earlier = order < order[4, 5]
    assert torch.equal(base[:, :, :, earlier], after[:, :, :, earlier])
    assert torch.equal(base[:, :2, :, 4, 5], after[:, :2, :, 4, 5])  # R and G logits of (4, 5) itself
    assert not torch.equal(base[:, 2, :, 4, 5], after[:, 2, :, 4, 5])  # B reads G


def test_no_blind_spot() -> None:
    """Both stacks: the pixel up and to the right, and every earlier pixel in the receptive field, are read."""
    model = tiny(layers=3, kernel=3)
    grad = influence(model, 5, 3, 0)
    for y, x in [(4, 4), (4, 5), (5, 2), (3, 6), (4, 0), (2, 3)]:
        assert grad[:, y, x].sum() > 0, (y, x)


def test_receptive_field_bounds_match_the_fast_sampler() -> None:
    model = tiny(layers=3, kernel=5)
    grad = influence(model, 7, 7, 0, size=16)
    reads = grad.sum(0).nonzero()
    assert int(reads[:, 0].min()) >= 7 - model.prior.rows_above
    assert int((reads[:, 1] - 7).abs().max()) <= model.prior.columns_beside
    same_row = grad.sum(0)[7].nonzero()[:, 0]  # the horizontal stack: columns to the left only
    assert int(same_row.min()) >= 7 - model.prior.columns_left
    assert int(same_row.max()) <= 7


def test_fast_sampler_equals_naive() -> None:
    model = tiny(layers=2, kernel=3)
    lr = torch.rand(2, 3, 3, 4)
    uniforms = draw_uniforms((2, COLOURS, 6, 8), seed=7)
    for temperature in (1.0, 0.8):
        naive = sample_naive(model, lr, temperature, uniforms)
        fast = sample_fast(model, lr, temperature, uniforms)
        assert torch.equal(naive, fast)
    # deeper and wider kernels: the sampler's column window is narrower than the row
    model = tiny(layers=3, kernel=5)
    lr = torch.rand(2, 3, 4, 6)
    uniforms = draw_uniforms((2, COLOURS, 8, 12), seed=3)
    assert model.prior.columns_left < 12
    assert torch.equal(sample_naive(model, lr, 0.9, uniforms), sample_fast(model, lr, 0.9, uniforms))
    # a different seed gives different samples
    other = sample_fast(model, lr, 1.0, draw_uniforms((2, COLOURS, 8, 12), seed=8))
    assert not torch.equal(other, sample_fast(model, lr, 1.0, uniforms))


def test_small_temperature_gives_the_argmax() -> None:
    logits = torch.randn(64, LEVELS)
    u = torch.rand(64, dtype=torch.float64)
    assert torch.equal(choose(logits, 1e-4, u), logits.argmax(1))
    assert torch.equal(choose(logits, 0.0, u), logits.argmax(1))


def test_temperature_one_samples_the_softmax() -> None:
    logits = torch.log(torch.tensor([[0.7, 0.2, 0.1] + [1e-12] * (LEVELS - 3)]))
    u = torch.rand(20000, dtype=torch.float64)
    picks = choose(logits.expand(20000, -1), 1.0, u)
    freq = torch.bincount(picks, minlength=3)[:3].double() / 20000
    assert torch.allclose(freq, torch.tensor([0.7, 0.2, 0.1], dtype=torch.float64), atol=0.02)


def test_loss_falls_on_tiny_data() -> None:
    torch.manual_seed(0)
    model = PixelRecursiveSR(scale=2, cond_channels=8, cond_blocks=1, prior_channels=6, prior_layers=2)
    hr = (torch.rand(4, 3, 8, 8) * 4).long() * 60  # few distinct levels: learnable
    lr = torch.nn.functional.avg_pool2d(hr.float() / 255, 2)
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    losses = []
    for _ in range(40):
        loss, _nll = model.loss(model(lr, hr), hr)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0]


def test_prior_input_range() -> None:
    levels = torch.tensor([0, 255])
    assert to_prior_input(levels).tolist() == [-1.0, 1.0]
