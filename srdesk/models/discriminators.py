"""Discriminators (critics) for adversarial training of the generator.

* :class:`SRGANDiscriminator`: Ledig et al. 2017, figure 4 -- eight 3x3 convs
  (64 -> 512 channels, stride 2 every other layer), BN, LeakyReLU 0.2, then
  dense 1024 -> LeakyReLU -> dense 1. Outputs a logit (no sigmoid: the losses
  apply it where the GAN variant needs one; WGAN critics must not have it).
* :class:`PatchDiscriminator`: pix2pix (Isola et al. 2017) 70x70 PatchGAN,
  conditional: it sees the LR input enlarged to the output size next to the
  (real or generated) HR image and answers one logit per patch.

  With ``phase=s`` it also looks at the image as the generator makes it: a
  pixel-shuffle generator writes each output cell of s x s pixels from one
  input pixel's features, so its failures are tied to that cell grid (a
  mosaic of cells that do not join). A second, small head sees the image
  unshuffled to the input's resolution (each cell's s*s pixels as channels,
  beside the LR input itself), where a 3x3 convolution compares every cell
  with its neighbours and with the pixel it came from.

* :class:`UNetDiscriminatorSN`: Real-ESRGAN (Wang et al. 2021) -- a U-Net
  whose every convolution after the first is spectrally normalised; it
  answers one logit per *pixel*, so it judges local texture everywhere and
  gives the generator a detailed, stable signal on realistic, varied inputs.

``norm`` selects "batch" (the papers), "instance" or "none"; WGAN-GP needs a
critic without batch norm because its penalty is per sample.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}")


def activations_after_each_relu(layers: nn.Sequential, x: torch.Tensor) -> list[torch.Tensor]:
    """Run ``layers`` and keep the output of every LeakyReLU (the feature-matching content loss uses them)."""
    outputs = []
    for layer in _leaves(layers):
        x = layer(x)
        if isinstance(layer, nn.LeakyReLU):
            outputs.append(x)
    return outputs


def _leaves(layers: nn.Sequential) -> list[nn.Module]:
    """The layers of nested Sequentials in the order they run."""
    return [leaf for layer in layers
            for leaf in (_leaves(layer) if isinstance(layer, nn.Sequential) else [layer])]


def blur_pool(x: torch.Tensor) -> torch.Tensor:
    """Anti-aliased 2x downsampling (Zhang 2019): a [1, 2, 1] binomial blur per channel, then every 2nd pixel.

    Its gradient spreads evenly over the pixels below (each gets a quarter), where max-pooling sends it
    to one pixel of each 2x2 block and a strided convolution unevenly by phase.
    """
    k = torch.tensor([1.0, 2.0, 1.0], dtype=x.dtype, device=x.device)
    kernel = (k[:, None] * k[None, :] / 16).expand(x.shape[1], 1, 3, 3)
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), kernel, stride=2, groups=x.shape[1])


class BlurPool(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return blur_pool(x)


def down_block(in_channels: int, out_channels: int, antialias: bool, bias: bool = True,
               wrap: Callable[[nn.Conv2d], nn.Module] = lambda conv: conv,
               norm: nn.Module | None = None) -> nn.Sequential:
    """A 2x-downsampling convolution with its (norm and) LeakyReLU: 4x4 at stride 2 (the papers'), or,
    ``antialias``, 3x3 at stride 1, the activation, and then :class:`BlurPool`.

    A strided convolution's gradient reaches the input pixels unevenly by phase, and a pixel-shuffle
    generator learns a 4 px grid from that (measured); the blurred subsampling spreads it evenly. The
    order is Zhang's: rectify, then blur. Blurring a convolution's output before the non-linearity
    removes the finest texture (the [1, 2, 1] blur is zero at the Nyquist frequency) before any
    non-linearity can turn it into a response. (Either way a blur-pooled patch discriminator starts to
    separate photos from results some 300 steps after a strided one: bench/discriminator_probe.py.)
    """
    layers: list[nn.Module] = [wrap(nn.Conv2d(in_channels, out_channels, 3 if antialias else 4,
                                              1 if antialias else 2, 1, bias=bias))]
    if norm is not None:
        layers.append(norm)
    layers.append(nn.LeakyReLU(0.2))
    if antialias:
        layers.append(BlurPool())
    return nn.Sequential(*layers)


class Discriminator(nn.Module):
    """What the adversarial trainer needs of a discriminator: a score map, and its features for the content loss."""

    def forward_features(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> list[torch.Tensor]:
        raise NotImplementedError


class SRGANDiscriminator(Discriminator):
    def __init__(self, in_channels: int = 3, base_channels: int = 64, norm: str = "batch") -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, base_channels, 3, padding=1), nn.LeakyReLU(0.2)]
        channels = base_channels
        plan = [(base_channels, 2), (base_channels * 2, 1), (base_channels * 2, 2), (base_channels * 4, 1),
                (base_channels * 4, 2), (base_channels * 8, 1), (base_channels * 8, 2)]
        for out_channels, stride in plan:
            layers += [
                nn.Conv2d(channels, out_channels, 3, stride=stride, padding=1, bias=norm == "none"),
                _norm(norm, out_channels),
                nn.LeakyReLU(0.2),
            ]
            channels = out_channels
        self.features = nn.Sequential(*layers)
        # 96 px crops give 6x6 maps; pooling to 6x6 keeps the paper's dense
        # head while accepting other crop sizes.
        self.pool = nn.AdaptiveAvgPool2d((6, 6))
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(channels * 36, 1024), nn.LeakyReLU(0.2), nn.Linear(1024, 1)
        )

    def forward(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.pool(self.features(x)))

    def forward_features(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> list[torch.Tensor]:
        return activations_after_each_relu(self.features, x)


class PatchDiscriminator(Discriminator):
    """pix2pix's conditional 70x70 PatchGAN. ``norm``: batch (the paper's), instance, none, or spectral
    (spectral normalisation of every convolution but the first and the head, as SN-PatchGAN and
    Real-ESRGAN's discriminator, in place of a normalisation layer: no dependence on the batch)."""

    def __init__(self, in_channels: int = 3, base_channels: int = 64, norm: str = "batch", layers: int = 3,
                 antialias: bool = False, phase: int = 0) -> None:
        super().__init__()
        spectral = norm == "spectral"
        wrap: Callable[[nn.Conv2d], nn.Module] = (nn.utils.parametrizations.spectral_norm if spectral
                                                  else lambda conv: conv)
        layer_norm = "none" if spectral else norm
        seq: list[nn.Module] = [down_block(2 * in_channels, base_channels, antialias)]
        channels = base_channels
        for i in range(1, layers + 1):
            out_channels = base_channels * min(2**i, 8)
            if i < layers:
                seq.append(down_block(channels, out_channels, antialias, bias=layer_norm == "none", wrap=wrap,
                                      norm=_norm(layer_norm, out_channels)))
            else:
                seq += [wrap(nn.Conv2d(channels, out_channels, 4, 1, 1, bias=layer_norm == "none")),
                        _norm(layer_norm, out_channels), nn.LeakyReLU(0.2)]
            channels = out_channels
        seq.append(nn.Conv2d(channels, 1, 4, 1, 1))
        self.net = nn.Sequential(*seq)
        self.phase = phase
        self.cells: nn.Sequential | None = None
        if phase > 1:  # the cell view: LR resolution, s*s*C pixel channels + the C input channels
            self.cells = nn.Sequential(
                nn.Conv2d(in_channels * (phase * phase + 1), base_channels, 3, 1, 1), nn.LeakyReLU(0.2),
                wrap(nn.Conv2d(base_channels, base_channels, 3, 1, 1)), nn.LeakyReLU(0.2),
                nn.Conv2d(base_channels, 1, 1))

    @staticmethod
    def _paired(x: torch.Tensor, condition: torch.Tensor | None) -> torch.Tensor:
        """The HR image (real or generated) beside the LR input enlarged to its size."""
        if condition is None:
            raise ValueError("the PatchGAN discriminator is conditional: pass the LR image")
        enlarged = F.interpolate(condition, size=x.shape[-2:], mode="bicubic", align_corners=False)
        return torch.cat([x, enlarged], dim=1)

    def _cell_view(self, x: torch.Tensor, condition: torch.Tensor | None) -> torch.Tensor:
        """Each s x s output cell as channels at the LR input's resolution, beside the LR input."""
        assert condition is not None
        if x.shape[-2] != condition.shape[-2] * self.phase or x.shape[-1] != condition.shape[-1] * self.phase:
            raise ValueError(f"the cell view needs an image {self.phase}x its condition's size")
        return torch.cat([F.pixel_unshuffle(x, self.phase), condition], dim=1)

    def forward(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """One logit per patch (N, 1, h, w). With the cell view, two score maps at the LR input's resolution
        (N, 2, H, W): the patches' logits spread over the cells they cover (nearest), then the cells' own.

        Every adversarial loss here averages over all scores, so the two heads weigh the same, as the
        scales of a multi-scale discriminator do (pix2pixHD), whatever their numbers of scores: at 64 px
        crops the patch head has 36 logits and the cell head 256, which side by side gave the patches an
        eighth of the say.
        """
        scores = self.net(self._paired(x, condition))
        if self.cells is None:
            return scores
        cells = self.cells(self._cell_view(x, condition))
        spread = F.interpolate(scores, size=cells.shape[-2:], mode="nearest-exact")
        return torch.cat([spread, cells], dim=1)

    def forward_features(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> list[torch.Tensor]:
        features = activations_after_each_relu(self.net, self._paired(x, condition))
        if self.cells is not None:
            features += activations_after_each_relu(self.cells, self._cell_view(x, condition))
        return features


class UNetDiscriminatorSN(Discriminator):
    """Real-ESRGAN's discriminator: 3 strided convs down, 3 bilinear-upsampled convs up with skips, 2 more
    convs and a 1-channel head; spectral norm on all but the first and last; LeakyReLU 0.2.

    ``norm`` is accepted for a uniform interface; spectral normalisation replaces it.
    """

    def __init__(self, in_channels: int = 3, base_channels: int = 64, norm: str = "none",
                 antialias: bool = False) -> None:
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm
        c = base_channels
        self.conv0 = nn.Conv2d(in_channels, c, 3, 1, 1)
        self.down = nn.ModuleList([down_block(c * 2**i, c * 2 ** (i + 1), antialias, bias=False, wrap=sn)
                                   for i in range(3)])
        self.up = nn.ModuleList([sn(nn.Conv2d(c * 8, c * 4, 3, 1, 1, bias=False)),
                                 sn(nn.Conv2d(c * 4, c * 2, 3, 1, 1, bias=False)),
                                 sn(nn.Conv2d(c * 2, c, 3, 1, 1, bias=False))])
        self.extra = nn.ModuleList([sn(nn.Conv2d(c, c, 3, 1, 1, bias=False)),
                                    sn(nn.Conv2d(c, c, 3, 1, 1, bias=False))])
        self.head = nn.Conv2d(c, 1, 3, 1, 1)

    def _run(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        features = []
        x = F.leaky_relu(self.conv0(x), 0.2)
        skips = [x]
        for block in self.down:
            x = block(x)
            skips.append(x)
            features.append(x)
        skips.pop()  # the bottom of the U is x itself
        for conv in self.up:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            x = F.leaky_relu(conv(x), 0.2) + skips.pop()
            features.append(x)
        for conv in self.extra:
            x = F.leaky_relu(conv(x), 0.2)
        return self.head(x), features

    def forward(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        return self._run(x)[0]

    def forward_features(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> list[torch.Tensor]:
        return self._run(x)[1]


DISCRIMINATORS: dict[str, type[Discriminator]] = {
    "srgan": SRGANDiscriminator, "patch": PatchDiscriminator, "unet": UNetDiscriminatorSN,
}


def build_discriminator(kind: str, base_channels: int = 64, norm: str = "batch", antialias: bool = False,
                        phase: int = 0) -> Discriminator:
    """``phase``: the generator's scale, for the patch discriminator's cell view (0: without)."""
    try:
        factory = DISCRIMINATORS[kind]
    except KeyError:
        raise ValueError(f"unknown discriminator {kind!r}; use one of {', '.join(DISCRIMINATORS)}") from None
    options: dict[str, Any] = {}
    if antialias:
        if kind == "srgan":
            raise ValueError("the SRGAN discriminator has no anti-aliased variant; use 'patch' or 'unet'")
        options["antialias"] = True
    if phase:
        if kind != "patch":
            raise ValueError("only the patch discriminator has a cell view")
        options["phase"] = phase
    return factory(base_channels=base_channels, norm=norm, **options)
