"""Losses: pixel, content and the adversarial variants.

Adversarial variants (``ADVERSARIAL``):

* ``gan``   -- Goodfellow et al., non-saturating generator loss, on logits.
* ``wgan``  -- Arjovsky et al. 2017: the critic's raw score (no sigmoid, no
  log): critic minimises E[D(fake)] - E[D(real)], generator minimises
  -E[D(fake)]; the trainer clips critic weights to +-c after every critic
  step and uses RMSProp.
* ``wgan-gp`` -- Gulrajani et al. 2017: WGAN losses plus
  lambda * E[(||grad D(x_hat)||_2 - 1)^2] on random interpolates x_hat.
* ``patchgan`` -- pix2pix: the ``gan`` loss averaged over a conditional
  discriminator's per-patch logits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from srdesk.models.discriminators import blur_pool


def pixel_loss(kind: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    if kind == "mse":
        return F.mse_loss
    if kind == "l1":
        return F.l1_loss
    raise ValueError(f"unknown pixel loss {kind!r}; use 'mse' or 'l1'")


def gradient_penalty(
    critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, condition: torch.Tensor | None = None
) -> torch.Tensor:
    """E[(||grad_x D(x)||_2 - 1)^2] at x = eps * real + (1 - eps) * fake, eps ~ U[0, 1] per sample."""
    eps = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    interpolates = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    scores = critic(interpolates, condition)
    (grad,) = torch.autograd.grad(scores.sum(), interpolates, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def _bce_discriminator(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(
        real_scores, torch.ones_like(real_scores)
    ) + F.binary_cross_entropy_with_logits(fake_scores, torch.zeros_like(fake_scores))


def _bce_generator(fake_scores: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(fake_scores, torch.ones_like(fake_scores))


def _critic(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    return fake_scores.mean() - real_scores.mean()


def _critic_generator(fake_scores: torch.Tensor) -> torch.Tensor:
    return -fake_scores.mean()


DiscriminatorLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
GeneratorLoss = Callable[[torch.Tensor], torch.Tensor]

# name -> (discriminator loss on (real, fake) scores, generator loss on fake scores)
ADVERSARIAL_LOSSES: dict[str, tuple[DiscriminatorLoss, GeneratorLoss]] = {
    "gan": (_bce_discriminator, _bce_generator),
    "wgan": (_critic, _critic_generator),
    "wgan-gp": (_critic, _critic_generator),
    "patchgan": (_bce_discriminator, _bce_generator),
}
ADVERSARIAL = tuple(ADVERSARIAL_LOSSES)


def _losses(kind: str) -> tuple[DiscriminatorLoss, GeneratorLoss]:
    try:
        return ADVERSARIAL_LOSSES[kind]
    except KeyError:
        raise ValueError(f"unknown adversarial loss {kind!r}; use one of {ADVERSARIAL}") from None


def discriminator_loss(kind: str, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    return _losses(kind)[0](real_scores, fake_scores)


def generator_adversarial_loss(kind: str, fake_scores: torch.Tensor) -> torch.Tensor:
    return _losses(kind)[1](fake_scores)


def clip_weights(module: nn.Module, limit: float) -> None:
    """WGAN's Lipschitz constraint: every critic parameter into [-limit, limit]."""
    with torch.no_grad():
        for p in module.parameters():
            p.clamp_(-limit, limit)


def feature_matching_loss(real_features: list[torch.Tensor], fake_features: list[torch.Tensor]) -> torch.Tensor:
    """Mean of per-layer MSEs between the critic's features of HR and SR images."""
    losses = [F.mse_loss(f, r.detach()) for r, f in zip(real_features, fake_features, strict=True)]
    return torch.stack(losses).mean()


def max_pool(x: torch.Tensor) -> torch.Tensor:
    """VGG's pooling; its gradient reaches one pixel of each 2x2 block (see :func:`blur_pool`)."""
    return F.max_pool2d(x, 2)


class RandomFeatures(nn.Module):
    """A fixed, randomly initialised deep CNN whose features serve as a content loss.

    Liu et al. 2021 ("Generic Perceptual Loss for Modeling Structured Output Dependencies", CVPR) show
    that the *structure* of a deep network, not its ImageNet training, carries most of a perceptual
    loss's value: a VGG-shaped network with random (Kaiming) weights gives useful multi-scale
    features. That needs no outside weights, which cannot be downloaded here. The layout is VGG16's
    first three stages (64-64, 128-128, 256-256-256, ReLU), with :func:`blur_pool` where VGG max-pools
    (``pool=max_pool`` for VGG's own); the loss is the mean L1 distance of the features after each stage,
    each normalised by the target's mean magnitude.

    Random filters have a random preference of direction: with seed 0 the loss is 6-14 % less sensitive
    to vertical stripes than to the same stripes turned horizontal (periods 2.2-10 px on a photo; seed 2
    the other way). ``quarter_turn`` also measures both images turned by 90 degrees and averages the
    two, so stripes cost about the same in either direction; a turn moves a pattern's phase against the
    pooling's stride-2 grid (column x becomes row W-1-x), so for a pattern locked to the pixel grid it is
    not exact. ``transpose`` (rows and columns swapped) keeps the phase: vertical and horizontal stripes
    then cost exactly the same, whatever their phase.

    ``padding_mode="reflect"`` (the texture loss's) keeps the image's edges from answering as a step
    to black in every layer, which in small crops would outweigh their texture.
    """

    def __init__(self, seed: int = 0, pool: Callable[[torch.Tensor], torch.Tensor] = blur_pool,
                 quarter_turn: bool = False, transpose: bool = False,
                 padding_mode: Literal["zeros", "reflect"] = "zeros") -> None:
        super().__init__()
        self.quarter_turn = quarter_turn
        self.transpose = transpose
        generator = torch.Generator().manual_seed(seed)
        stages, channels = [], 3
        for widths in ((64, 64), (128, 128), (256, 256, 256)):
            layers: list[nn.Module] = []
            for width in widths:
                conv = nn.Conv2d(channels, width, 3, padding=1, padding_mode=padding_mode)
                with torch.no_grad():
                    std = (2.0 / (9 * channels)) ** 0.5
                    conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) * std)
                    if conv.bias is not None:
                        conv.bias.zero_()
                layers += [conv, nn.ReLU()]
                channels = width
            stages.append(nn.Sequential(*layers))
        self.stages = nn.ModuleList(stages)
        self.pool = pool
        self.requires_grad_(False)
        self.eval()

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for k, stage in enumerate(self.stages):
            if k:
                x = self.pool(x)
            x = stage(x)
            outputs.append(x)
        return outputs

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        distances = [self._distance(sr, hr)]
        if self.quarter_turn:
            distances.append(self._distance(torch.rot90(sr, 1, (-2, -1)), torch.rot90(hr, 1, (-2, -1))))
        if self.transpose:
            distances.append(self._distance(sr.transpose(-2, -1), hr.transpose(-2, -1)))
        return torch.stack(distances).mean()

    def _distance(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        terms = []
        for fake, real in zip(self.features(sr), self.features(hr), strict=True):
            real = real.detach()
            terms.append(F.l1_loss(fake, real) / (real.abs().mean() + 1e-6))
        return torch.stack(terms).mean()


def patch_grams(features: torch.Tensor, patch: int) -> torch.Tensor:
    """(N, C, H, W) -> (N x patches, C, C): each patch x patch tile's Gram matrix of its centred features
    (their covariance: the tile's texture statistics without its mean colour and brightness)."""
    n, c, h, w = features.shape
    rows, cols = h // patch, w // patch
    tiles = features[..., : rows * patch, : cols * patch].reshape(n, c, rows, patch, cols, patch)
    tiles = tiles.permute(0, 2, 4, 1, 3, 5).reshape(n * rows * cols, c, patch * patch)
    tiles = tiles - tiles.mean(dim=2, keepdim=True)
    return tiles @ tiles.transpose(1, 2) / (patch * patch)


def texture_loss(features: RandomFeatures, sr: torch.Tensor, target: torch.Tensor, patch: int = 16) -> torch.Tensor:
    """EnhanceNet's texture loss (Sajjadi et al. 2017) on the features of a random CNN.

    The Gram matrices of the features over each ``patch`` x ``patch`` tile (the tile halves with
    each stage's resolution, at least 2 x 2) must match the photo's: the result must have the
    tile's texture *statistics* (how much of which local pattern), not its pixels, so a texture
    that the input no longer shows is drawn in some phase rather than averaged away. A fixed
    random network suffices for texture statistics (Ustyuzhaninov et al. 2017, "What does it take
    to generate natural textures?"), which is what allows it here (no ImageNet weights). The features
    are centred per tile (EnhanceNet's Grams are not): on photos the tile means make some 93 % of an
    uncentred Gram's magnitude, and a blur then cost a fifth of what it costs centred. Mean L1
    distance of the Grams, each stage normalised by the photo's mean Gram magnitude.
    """
    with torch.no_grad():
        reals = features.features(target)
    terms = []
    for k, (fake, real) in enumerate(zip(features.features(sr), reals, strict=True)):
        size = max(patch >> k, 2)
        fake_gram, real_gram = patch_grams(fake.float(), size), patch_grams(real.float(), size)
        terms.append(F.l1_loss(fake_gram, real_gram) / (real_gram.abs().mean() + 1e-6))
    return torch.stack(terms).mean()


CONTENT_LOSSES = ("pixel", "features", "random-features")
"""pixel: the pixel loss; features: the discriminator's own features (feature matching);
random-features: :class:`RandomFeatures` (generic perceptual loss)."""


def _local_variance(x: torch.Tensor, size: int) -> torch.Tensor:
    """Unbiased variance of each pixel's size x size neighbourhood (reflect-padded)."""
    pad = size // 2
    padded = F.pad(x, (pad, pad, pad, pad), mode="reflect")
    mean = F.avg_pool2d(padded, size, stride=1)
    mean_sq = F.avg_pool2d(padded * padded, size, stride=1)
    n = size * size
    return (mean_sq - mean * mean).clamp_min(0) * (n / (n - 1))


def artifact_map(target: torch.Tensor, sr: torch.Tensor, sr_ema: torch.Tensor, size: int = 7) -> torch.Tensor:
    """Where a GAN's output has artefacts rather than detail (Liang et al. 2022, "Details or Artifacts: A
    Locally Discriminative Learning Approach to Realistic Image Super-Resolution", CVPR, eq. 4-7).

    The residual r = sum over channels |target - sr|; artefacts are where r varies a lot locally (its
    ``size`` x ``size`` variance), scaled by the patch's overall residual variance^(1/5) (LDL's
    patch-level weight), and only where the stable exponential moving average of the generator is closer
    to the target than the generator now (what the average does not do, the last steps made up). No
    gradient flows through it.
    """
    with torch.no_grad():
        residual = (target - sr).abs().sum(1, keepdim=True)
        residual_ema = (target - sr_ema).abs().sum(1, keepdim=True)
        patch = residual.flatten(1).var(dim=1).view(-1, 1, 1, 1) ** 0.2
        weight = patch * _local_variance(residual, size)
        return torch.where(residual < residual_ema, torch.zeros_like(weight), weight)


def artifact_loss(target: torch.Tensor, sr: torch.Tensor, sr_ema: torch.Tensor) -> torch.Tensor:
    """L1 between sr and target, each weighted by :func:`artifact_map` (LDL's loss)."""
    weight = artifact_map(target, sr.detach(), sr_ema)
    return F.l1_loss(weight * sr, weight * target)


def chroma(x: torch.Tensor) -> torch.Tensor:
    """Cb and Cr of RGB in [0, 1] (BT.601, without the offset)."""
    r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    return torch.cat([-0.168736 * r - 0.331264 * g + 0.5 * b, 0.5 * r - 0.418688 * g - 0.081312 * b], dim=1)


def chroma_loss(sr: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 of the colour difference alone: invented detail may change brightness, not colour."""
    return F.l1_loss(chroma(sr), chroma(target))


SPECTRUM_BAND = 4  # frequencies pooled per side: 64 px crops -> 16 x 16 blocks of frequencies
SPECTRUM_FLOOR = 1e-3  # amplitudes compared as logarithms (how many times more), above about 8-bit rounding noise


def luma(x: torch.Tensor) -> torch.Tensor:
    """Y of RGB in [0, 1] (BT.601 weights, full range), (N, 1, H, W)."""
    return 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]


def amplitude_spectrum(x: torch.Tensor) -> torch.Tensor:
    """|FFT| of the luma of each image, Hann-windowed (no edge spectrum), orthonormal (Parseval: same energy)."""
    y = luma(x.float())
    h, w = y.shape[-2:]
    window = torch.outer(torch.hann_window(h, periodic=False, device=y.device, dtype=y.dtype),
                         torch.hann_window(w, periodic=False, device=y.device, dtype=y.dtype))
    y = (y - y.mean(dim=(-2, -1), keepdim=True)) * window
    # the full spectrum, not rfft2's half: that keeps one axis's negative frequencies and not the other's,
    # so it would count a pattern along the rows twice and the same pattern along the columns once
    return torch.fft.fft2(y, norm="ortho").abs()


def band_amplitudes(x: torch.Tensor, band: int = SPECTRUM_BAND) -> torch.Tensor:
    """RMS amplitude of the luma spectrum in ``band`` x ``band`` blocks of frequencies (a smoothed power spectrum)."""
    power = amplitude_spectrum(x).square()
    # the same blocks on both axes: transposing the image transposes them, so a pattern costs the same along
    # rows or columns
    return F.avg_pool2d(power, band, ceil_mode=True).clamp_min(1e-12).sqrt()


def spectrum_loss(sr: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """How much more power the result has than the photo, by frequency and direction: mean of the
    positive part of log(result's band amplitude / photo's), crop by crop.

    Only an excess costs: a GAN's result is soft where it invents nothing (less power than the photo:
    free here, the pixel loss sees to it) and may draw texture that differs from the photo's in every
    pixel (another draw of grass has the photo's power at the photo's frequencies: free too); what costs
    is power at frequencies and directions where the photo has less (fine stripes, a cross-hatch: a peak
    in the spectrum), in proportion to how many times more. On Set14 (real inputs, 64 px crops) it is
    0.002 for photo-x4, 0.013 for photo-crisp-x4 and 0.05-0.06 for GAN runs covered in fine stripes.
    """
    excess = torch.log(band_amplitudes(sr) + SPECTRUM_FLOOR) - torch.log(band_amplitudes(target) + SPECTRUM_FLOOR)
    return F.relu(excess).mean()


@torch.no_grad()
def update_ema(average: nn.Module, model: nn.Module, decay: float) -> None:
    """average <- decay * average + (1 - decay) * model, parameter by parameter; buffers are copied."""
    for a, p in zip(average.parameters(), model.parameters(), strict=True):
        a.lerp_(p.detach(), 1.0 - decay)
    for kept, buffer in zip(average.buffers(), model.buffers(), strict=True):
        kept.copy_(buffer)
