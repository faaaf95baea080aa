"""Pixel Recursive Super Resolution (Dahl, Norouzi & Shlens 2017).

Two networks whose logits are added:

* :class:`ConditioningNet`: a ResNet on the low-resolution image that
  upsamples (sub-pixel convolutions) to the output grid and predicts, for
  every output sub-pixel, 256 logits;
* :class:`GatedPixelCNN`: the prior, a gated PixelCNN (van den Oord et al.
  2016) over the high-resolution image: vertical and horizontal stacks (no
  blind spot), gated tanh x sigmoid activations, channels ordered R, G, B
  within a pixel by masking feature groups.

Sampling goes pixel by pixel and channel by channel with temperature tau.
The naive sampler re-runs both networks for every sub-pixel; the fast one
computes the conditioning logits once, the prior's vertical stack once per
row, and per sub-pixel only the horizontal stack on the columns that reach
it, batched across samples and tiles; both draw from the same uniforms, so
they give the same samples.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

LEVELS = 256
COLOURS = 3


def _group(index: int, total: int) -> int:
    """Colour group (0 = R, 1 = G, 2 = B) of feature ``index`` among ``total``."""
    return index * COLOURS // total


def channel_mask(out_channels: int, in_channels: int, include_self: bool, out_halves: int = 1) -> torch.Tensor:
    """(out, in) 0/1 matrix: output group g may read input group h if h < g (or h <= g with include_self).

    ``out_halves`` = 2 when the outputs are the [tanh | sigmoid] halves of a gate:
    both halves carry the same group layout so their product keeps it.
    """
    per_half = out_channels // out_halves
    mask = torch.zeros(out_channels, in_channels)
    for o in range(out_channels):
        g = _group(o % per_half, per_half)
        for i in range(in_channels):
            h = _group(i, in_channels)
            mask[o, i] = 1.0 if (h < g or (include_self and h == g)) else 0.0
    return mask


class MaskedConv2d(nn.Conv2d):
    """A convolution whose weight is multiplied by a fixed 0/1 mask."""

    mask: torch.Tensor

    def __init__(self, in_channels: int, out_channels: int, kernel_size: tuple[int, int], mask: torch.Tensor) -> None:
        super().__init__(in_channels, out_channels, kernel_size)
        self.register_buffer("mask", mask.expand_as(self.weight).clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias)


class GatedLayer(nn.Module):
    def __init__(self, in_channels: int, channels: int, kernel: int, first: bool) -> None:
        super().__init__()
        self.kernel = kernel
        self.first = first
        half = kernel // 2
        # vertical: rows [i - half, i], all columns [j - half, j + half]; no channel mask
        # (its output only reaches the horizontal stack shifted one row down).
        self.vertical = nn.Conv2d(in_channels, 2 * channels, (half + 1, kernel))
        # horizontal: columns [j - half, j] of the current row; the current pixel's
        # tap is channel-masked (strictly earlier colours in the first layer).
        hmask = torch.ones(2 * channels, in_channels, 1, half + 1)
        hmask[:, :, 0, half] = channel_mask(2 * channels, in_channels, include_self=not first, out_halves=2)
        self.horizontal = MaskedConv2d(in_channels, 2 * channels, (1, half + 1), hmask)
        self.v_to_h = nn.Conv2d(2 * channels, 2 * channels, 1)
        rmask = channel_mask(channels, channels, include_self=True)[:, :, None, None]
        self.residual = MaskedConv2d(channels, channels, (1, 1), rmask)

    @staticmethod
    def _gate(x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return torch.tanh(a) * torch.sigmoid(b)

    def vertical_pass(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the next layer's vertical input, this layer's link into the horizontal stack).

        The link at row i depends on rows < i only, so a sampler can compute a
        whole row's links once, before sampling that row.
        """
        half = self.kernel // 2
        v_pre = self.vertical(F.pad(v, (half, half, half, 0)))
        shifted = F.pad(v_pre, (0, 0, 1, 0))[:, :, :-1]  # row i sees vertical rows < i only
        return self._gate(v_pre), self.v_to_h(shifted)

    def horizontal_pass(self, h: torch.Tensor, link: torch.Tensor) -> torch.Tensor:
        half = self.kernel // 2
        h_out = self.residual(self._gate(self.horizontal(F.pad(h, (half, 0, 0, 0))) + link))
        return h_out if self.first else h + h_out


class GatedPixelCNN(nn.Module):
    """The prior over the HR image: (N, 3, H, W) in [-1, 1] -> logits (N, 3, 256, H, W)."""

    def __init__(self, channels: int = 48, layers: int = 6, kernel: int = 3) -> None:
        super().__init__()
        if channels % COLOURS:
            raise ValueError("the prior's channel count must be a multiple of 3 (one group per colour)")
        self.channels, self.layers, self.kernel = channels, layers, kernel
        self.gated = nn.ModuleList(
            [GatedLayer(COLOURS if i == 0 else channels, channels, kernel, first=i == 0) for i in range(layers)]
        )
        hidden_mask = channel_mask(channels, channels, include_self=True)[:, :, None, None]
        self.hidden = MaskedConv2d(channels, channels, (1, 1), hidden_mask)
        out_mask = channel_mask(COLOURS * LEVELS, channels, include_self=True)[:, :, None, None]
        self.out = MaskedConv2d(channels, COLOURS * LEVELS, (1, 1), out_mask)

    @property
    def rows_above(self) -> int:
        """How many rows above a pixel can influence its logits."""
        return self.layers * (self.kernel // 2) + 1

    @property
    def columns_beside(self) -> int:
        """How many columns either side (through the vertical stack) can influence a pixel's logits."""
        return self.layers * (self.kernel // 2)

    @property
    def columns_left(self) -> int:
        """How many columns to the left the horizontal stack of the same row reaches."""
        return self.layers * (self.kernel // 2)

    def _layers(self) -> list[GatedLayer]:
        return [cast(GatedLayer, layer) for layer in self.gated]

    def links(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every layer's vertical-stack input to the horizontal stack, (N, 2C, H, W) each."""
        v, out = x, []
        for layer in self._layers():
            v, link = layer.vertical_pass(v)
            out.append(link)
        return out

    def horizontal(self, x: torch.Tensor, links: list[torch.Tensor]) -> torch.Tensor:
        h = x
        for layer, link in zip(self._layers(), links, strict=True):
            h = layer.horizontal_pass(h, link)
        return h

    def head(self, h: torch.Tensor) -> torch.Tensor:
        logits = self.out(F.relu(self.hidden(F.relu(h))))
        n, _, height, width = logits.shape
        return logits.view(n, COLOURS, LEVELS, height, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.horizontal(x, self.links(x)))

    def last_column_logits(self, row: torch.Tensor, row_links: list[torch.Tensor]) -> torch.Tensor:
        """(N, 3, 256) logits at the last column of a one-row window: one sub-pixel step of the fast sampler."""
        return self.head(self.horizontal(row, row_links)[:, :, :, -1:])[:, :, :, 0, 0]


class _ResBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.body(x))


class ConditioningNet(nn.Module):
    """LR (N, 3, h, w) in [0, 1] -> logits (N, 3, 256, h*scale, w*scale)."""

    def __init__(self, scale: int = 4, channels: int = 64, blocks_per_stage: int = 2) -> None:
        super().__init__()
        if scale & (scale - 1):
            raise ValueError("the conditioning network upsamples in x2 stages: scale must be a power of two")
        self.scale = scale
        layers: list[nn.Module] = [nn.Conv2d(COLOURS, channels, 3, padding=1), nn.ReLU(inplace=True)]
        layers += [_ResBlock(channels) for _ in range(blocks_per_stage)]
        for _ in range(scale.bit_length() - 1):
            layers += [nn.Conv2d(channels, 4 * channels, 3, padding=1), nn.PixelShuffle(2), nn.ReLU(inplace=True)]
            layers += [_ResBlock(channels) for _ in range(blocks_per_stage)]
        layers.append(nn.Conv2d(channels, COLOURS * LEVELS, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        logits = self.net(lr * 2 - 1)
        n, _, height, width = logits.shape
        return logits.view(n, COLOURS, LEVELS, height, width)


def to_prior_input(values: torch.Tensor) -> torch.Tensor:
    """Integer levels 0..255 -> the prior's [-1, 1] input."""
    return values.float() / (LEVELS - 1) * 2 - 1


@dataclass
class PixelRecursiveOutput:
    conditioning: torch.Tensor  # (N, 3, 256, H, W)
    combined: torch.Tensor  # conditioning + prior


class PixelRecursiveSR(nn.Module):
    def __init__(self, scale: int = 4, cond_channels: int = 64, cond_blocks: int = 2, prior_channels: int = 48,
                 prior_layers: int = 6, prior_kernel: int = 3) -> None:
        super().__init__()
        self.scale = scale
        self.conditioning = ConditioningNet(scale, cond_channels, cond_blocks)
        self.prior = GatedPixelCNN(prior_channels, prior_layers, prior_kernel)

    def forward(self, lr: torch.Tensor, hr_levels: torch.Tensor) -> PixelRecursiveOutput:
        """Teacher-forced logits: ``hr_levels`` are the true HR values (0..255), shape (N, 3, H, W)."""
        cond = self.conditioning(lr)
        return PixelRecursiveOutput(cond, cond + self.prior(to_prior_input(hr_levels)))

    @staticmethod
    def loss(output: PixelRecursiveOutput, hr_levels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(training loss, NLL in nats per sub-pixel): CE(cond + prior) + CE(cond), as in the paper."""
        target = hr_levels.long()
        nll = F.cross_entropy(output.combined.transpose(1, 2), target)
        return nll + F.cross_entropy(output.conditioning.transpose(1, 2), target), nll


# ---------------------------------------------------------------------------
# sampling
# ---------------------------------------------------------------------------

def draw_uniforms(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=generator, dtype=torch.float64)


def choose(logits: torch.Tensor, temperature: float, uniforms: torch.Tensor) -> torch.Tensor:
    """Sample categories from (N, 256) logits with softmax(logits / tau), by inverse CDF of ``uniforms``.

    tau = 0 gives the argmax. Using given uniforms (not a generator inside)
    is what makes the naive and the fast sampler draw identical samples.
    """
    if temperature <= 0:
        return logits.argmax(dim=1)
    probs = torch.softmax(logits.double() / temperature, dim=1)
    cdf = probs.cumsum(dim=1)
    picked = torch.searchsorted(cdf, uniforms.double().unsqueeze(1).to(cdf.device) * cdf[:, -1:]).squeeze(1)
    return picked.clamp_(0, LEVELS - 1)


ProgressFn = Callable[[int, int], None]


def _check(cancel: object | None) -> None:
    if cancel is not None and getattr(cancel, "is_set")():  # noqa: B009 - any Event-like
        from srdesk.core.errors import Cancelled

        raise Cancelled("cancelled; nothing was written")


@torch.inference_mode()
def sample_naive(model: PixelRecursiveSR, lr: torch.Tensor, temperature: float, uniforms: torch.Tensor) -> torch.Tensor:
    """Reference sampler: both networks on the whole image for every sub-pixel. Returns levels (N, 3, H, W)."""
    n, _, h, w = lr.shape
    height, width = h * model.scale, w * model.scale
    out = torch.zeros(n, COLOURS, height, width, dtype=torch.long, device=lr.device)
    for i in range(height):
        for j in range(width):
            for c in range(COLOURS):
                logits = model.conditioning(lr) + model.prior(to_prior_input(out))
                out[:, c, i, j] = choose(logits[:, c, :, i, j], temperature, uniforms[:, c, i, j])
    return out


@torch.inference_mode()
def sample_fast(
    model: PixelRecursiveSR,
    lr: torch.Tensor,
    temperature: float,
    uniforms: torch.Tensor,
    progress: ProgressFn | None = None,
    cancel: object | None = None,
) -> torch.Tensor:
    """Same samples as :func:`sample_naive`, computing only what can change.

    The conditioning logits do not depend on the samples: computed once. The
    prior splits into a vertical stack, whose input to row i depends on rows
    < i only, and a horizontal stack along the row. So at the start of each
    row the vertical links of that row are computed once (on the rows that
    can reach it), and each sub-pixel step runs only the horizontal stack on
    the few columns to its left that reach it, and the 1x1 head at the pixel
    itself: about 1/60 of the arithmetic of re-running the prior on the full
    receptive-field window. ``progress`` is called once per output row;
    ``cancel`` (an Event) is checked per row.
    """
    n, _, h, w = lr.shape
    height, width = h * model.scale, w * model.scale
    cond = model.conditioning(lr)
    out = torch.zeros(n, COLOURS, height, width, dtype=torch.long, device=lr.device)
    prior = model.prior
    rows, cols = prior.rows_above, prior.columns_left
    for i in range(height):
        _check(cancel)
        top = max(0, i - rows)
        links = [link[:, :, -1:] for link in prior.links(to_prior_input(out[:, :, top : i + 1]))]
        for j in range(width):
            left = max(0, j - cols)
            row_links = [link[:, :, :, left : j + 1] for link in links]
            for c in range(COLOURS):
                logits = prior.last_column_logits(to_prior_input(out[:, :, i : i + 1, left : j + 1]), row_links)[:, c]
                out[:, c, i, j] = choose(cond[:, c, :, i, j] + logits, temperature, uniforms[:, c, i, j])
        if progress:
            progress(i + 1, height)
    return out
