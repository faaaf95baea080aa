"""SPAN-style efficient generator (after Wan et al. 2024, "Swift Parameter-free
Attention Network for Efficient Super-Resolution", NTIRE 2024 efficient SR).

head 3x3 conv -> B attention blocks -> 3x3 conv -> 1x1 fusion of the head,
the last block, the first block and the tail features -> one 3x3 conv to
3 * scale^2 channels -> PixelShuffle.

Each block is three 3x3 convolutions with SiLU between them and a
*parameter-free* attention: the block's output ``(y + x) * (sigmoid(y) - 0.5)``
weights each feature by its own magnitude, which costs no parameters and no
memory traffic beyond the convolutions (the paper's point: attention without
the matrix products that make transformer models slow on CPUs). All the work
happens at the input resolution, and the only upsampling is a pixel shuffle,
so a forward pass costs about a fifth of SRResNet's 16x64 multiply-adds at x4.

Written for srdesk from the paper's description. The paper's training-time
re-parameterised convolutions (Conv3XC) are left out: plain 3x3 convolutions
are what the re-parameterisation collapses to at inference anyway, and on a
CPU the extra branches would make training slower, not better per hour.
``image_skip`` adds a bilinear enlargement of the input so that the network
learns only the missing detail (much faster convergence from scratch).
``out_refine`` (0: none, as the paper) adds a residual pair of 3x3 convolutions
at the *output's* resolution after the pixel shuffle, with that many channels
between them: everything else works at the input's resolution, and one
convolution makes all scale^2 output pixels of an input pixel, so nothing joins
neighbouring input pixels' tiles (a GAN-trained generator learnt a mosaic of
them). Its last convolution starts at zero: the network is unchanged until it
learns, so it can continue from weights trained without it.
``texture`` (0: none) adds a :class:`TextureHead`: fine texture drawn from noise,
trained on its own over the frozen network (a texture loss), and scaled by the
detail strength.
``second_pass`` runs a second network of the same design on the first one's
result reduced again (:class:`BicubicReduce`): the first pass removes noise
and JPEG blocks and hedges on fine detail, the second enlarges the clean
picture that is left, as a model for clean images does (restore, then
enlarge; each pass can start from a single-pass network's weights).
Input and output are RGB in [0, 1].
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from srdesk.core.resample import cubic_keys, weight_matrix


class AttentionBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.c2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.c3 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.c3(F.silu(self.c2(F.silu(self.c1(x)))))
        return (y + x) * (torch.sigmoid(y) - 0.5)


NOISE_PERIODS = (251, 241)  # the noise tables' sides: coprime, so the sum repeats only every 60,491 px
HIGH_PASS_SIGMA = 1.5  # output px: the texture keeps only what a Gaussian of this width does not


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of each channel, reflect-padded (the result has the input's size; an image no
    larger than the kernel's radius, a photo a pixel high enlarged, is padded by repeating its edge instead)."""
    radius = int(3 * sigma)
    taps = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-taps * taps / (2 * sigma * sigma))
    kernel = kernel / kernel.sum()
    c = x.shape[1]
    mode = "reflect" if min(x.shape[-2:]) > radius else "replicate"
    x = F.pad(x, (radius, radius, radius, radius), mode=mode)
    x = F.conv2d(x, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


class TextureHead(nn.Module):
    """Fine texture the input no longer shows, drawn from noise (a stochastic detail layer).

    A PSNR-trained network cannot restore a texture whose phase the input lost (grass, fur, skin pores under
    JPEG and noise): it averages the possible textures into a smooth area. This head adds one drawn sample:
    ``channels`` maps of Gaussian noise at the output's resolution, each scaled by an amplitude the network's
    features set per input pixel (enlarged bilinearly, so nothing follows the input's pixel grid), shaped by
    three 3x3 convolutions at the output's resolution, and high-passed (what a Gaussian of
    :data:`HIGH_PASS_SIGMA` keeps is removed), so it adds detail and never shifts a colour or a brightness. It
    adds luminance only (the same to R, G and B): colour speckle is not texture. Trained with a texture loss
    (the photo's texture statistics per tile) over the frozen network, it draws as much texture, where and of
    the kind the photos had.

    The noise is a function of the output position (two tables with coprime periods, summed), so tiles and
    previews draw exactly what the whole image draws there, and the same photo gives the same result each
    time; ``strength`` scales it (0: no texture, the network's own result exactly). In training the noise is
    drawn afresh each step.
    """

    def __init__(self, features: int, channels: int, hidden: int, scale: int, seed: int = 0) -> None:
        super().__init__()
        self.scale = scale
        self.strength = 1.0
        self.amplitude = nn.Conv2d(features, channels, 3, padding=1)
        nn.init.normal_(self.amplitude.weight, std=0.01)
        assert self.amplitude.bias is not None
        nn.init.constant_(self.amplitude.bias, -3.0)  # softplus(-3) = 0.05: little texture to start with
        self.shape = nn.Sequential(nn.Conv2d(channels, hidden, 3, padding=1), nn.SiLU(),
                                   nn.Conv2d(hidden, hidden, 3, padding=1), nn.SiLU(),
                                   nn.Conv2d(hidden, 1, 3, padding=1))
        generator = torch.Generator().manual_seed(seed)
        for k, period in enumerate(NOISE_PERIODS):
            self.register_buffer(f"table{k}", torch.randn(channels, period, period, generator=generator),
                                 persistent=False)

    def noise(self, origin: tuple[int, int], height: int, width: int) -> torch.Tensor:
        """(1, channels, height, width) standard Gaussian noise of the output pixels from ``origin`` on."""
        total = None
        for k, period in enumerate(NOISE_PERIODS):
            table = getattr(self, f"table{k}")
            rows = torch.arange(origin[0], origin[0] + height, device=table.device) % period
            cols = torch.arange(origin[1], origin[1] + width, device=table.device) % period
            part = table[:, rows][:, :, cols]
            total = part if total is None else total + part
        assert total is not None
        return (total * len(NOISE_PERIODS) ** -0.5).unsqueeze(0)

    def forward(self, features: torch.Tensor, origin: tuple[int, int] = (0, 0)) -> torch.Tensor:
        """Texture (N, 1, sH, sW) for (N, C, H, W) features; ``origin``: the first output pixel's position."""
        amplitude = F.interpolate(F.softplus(self.amplitude(features)), scale_factor=self.scale, mode="bilinear",
                                  align_corners=False)
        n, c, h, w = amplitude.shape
        if self.training:
            noise = torch.randn(n, c, h, w, device=amplitude.device, dtype=amplitude.dtype)
        else:
            noise = self.noise(origin, h, w).to(amplitude.dtype)
        texture = self.shape(amplitude * (noise * self.strength))
        return texture - gaussian_blur(texture, HIGH_PASS_SIGMA)


class BicubicReduce(nn.Module):
    """MATLAB's ``imresize(x, 1/factor, 'bicubic')`` as a fixed, differentiable convolution: the taps are those
    of the evaluation protocol's own reduction (:func:`srdesk.core.resample.weight_matrix`, MATLAB's
    contributions: Keys' cubic widened by the factor), the same for rows and columns.

    An image of ``factor * n`` pixels a side becomes ``n``; the borders are mirrored about the image's edge,
    as MATLAB's (the edge pixel repeated in the mirror), so the result is MATLAB's to rounding."""

    kernel: torch.Tensor

    def __init__(self, factor: int) -> None:
        super().__init__()
        self.factor = factor
        outputs = 8  # an output pixel in the middle of these has its full kernel, away from the borders
        row = weight_matrix(outputs * factor, outputs, cubic_keys, 4.0)[outputs // 2]
        taps = np.flatnonzero(row)
        self.register_buffer("kernel", torch.tensor(row[taps[0]:taps[-1] + 1], dtype=torch.float32),
                             persistent=False)
        self.pad = outputs // 2 * factor - int(taps[0])  # input pixels the first output pixel reads before the image
        assert len(self.kernel) == factor + 2 * self.pad  # (symmetric about the output pixel's centre)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c, p = x.shape[1], self.pad
        kernel = self.kernel.to(x.dtype)
        if min(x.shape[-2:]) >= p:
            x = torch.cat([x[..., :p].flip(-1), x, x[..., -p:].flip(-1)], dim=-1)
            x = torch.cat([x[..., :p, :].flip(-2), x, x[..., -p:, :].flip(-2)], dim=-2)
        else:  # a picture smaller than the mirror
            x = F.pad(x, (p, p, p, p), mode="replicate")
        x = F.conv2d(x, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), stride=(1, self.factor), groups=c)
        return F.conv2d(x, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), stride=(self.factor, 1), groups=c)


class SPAN(nn.Module):
    def __init__(self, scale: int = 4, num_blocks: int = 6, channels: int = 48,
                 image_skip: bool = True, in_channels: int = 3, out_refine: int = 0, texture: int = 0,
                 texture_hidden: int = 16, second_pass: bool = False) -> None:
        super().__init__()
        if num_blocks < 2:
            raise ValueError("SPAN needs at least two blocks")
        if second_pass and texture:
            raise ValueError("a texture head belongs to a single-pass SPAN")
        self.scale = scale
        self.image_skip = image_skip
        self.head = nn.Conv2d(in_channels, channels, 3, padding=1)
        self.body = nn.ModuleList(AttentionBlock(channels) for _ in range(num_blocks))
        self.body_tail = nn.Conv2d(channels, channels, 3, padding=1)
        self.fuse = nn.Conv2d(4 * channels, channels, 1)
        self.upsample = nn.Sequential(nn.Conv2d(channels, in_channels * scale * scale, 3, padding=1),
                                      nn.PixelShuffle(scale))
        if image_skip:
            # start from the bilinear enlargement: the network adds detail only
            conv = self.upsample[0]
            assert isinstance(conv, nn.Conv2d)
            conv.weight.data.mul_(0.1)
            assert conv.bias is not None
            nn.init.zeros_(conv.bias)
        self.refine: nn.Sequential | None = None
        if out_refine:
            last = nn.Conv2d(out_refine, in_channels, 3, padding=1)
            nn.init.zeros_(last.weight)
            assert last.bias is not None
            nn.init.zeros_(last.bias)
            self.refine = nn.Sequential(nn.Conv2d(in_channels, out_refine, 3, padding=1), nn.SiLU(), last)
        self.texture = TextureHead(channels, texture, texture_hidden, scale) if texture else None
        self.second: SPAN | None = None
        if second_pass:
            self.reduce = BicubicReduce(scale)
            self.second = SPAN(scale, num_blocks, channels, image_skip, in_channels, out_refine)

    @property
    def positional(self) -> bool:
        """Whether the result depends on where the input lies in the photo (the texture's noise): the tiler then
        passes each tile's position."""
        return self.texture is not None

    def forward(self, x: torch.Tensor, origin: tuple[int, int] = (0, 0)) -> torch.Tensor:
        """``origin``: where ``x`` starts in the photo (input pixels; only the texture's noise reads it)."""
        features = self.head(x)
        out = features
        first = None
        for block in self.body:
            out = block(out)
            if first is None:
                first = out
        assert first is not None
        tail = self.body_tail(out)
        fused = self.fuse(torch.cat([features, tail, first, out], dim=1))
        result = self.upsample(fused)
        if self.image_skip:
            result = result + F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        if self.refine is not None:
            result = result + self.refine(result)
        if self.texture is not None and self.texture.strength:
            result = result + self.texture(fused, (origin[0] * self.scale, origin[1] * self.scale))
        if self.second is not None:
            result = self.second(self.reduce(result.clamp(0, 1)))
        return result


def receptive_radius(num_blocks: int, out_refine: int = 0, texture: bool = False, second_pass: bool = False) -> int:
    """Input pixels on each side that can reach an output pixel: one per 3x3 conv at input resolution, and
    one more for the two output-resolution convolutions of ``out_refine`` (2 output pixels, at most one
    input pixel at x2 and above). The texture head reads the fused features (one pixel less than the output)
    through one more 3x3 conv and a bilinear enlargement (2 input pixels), then three output-resolution 3x3
    convs and the high-pass's Gaussian (3 + 4 output pixels: 2 input pixels at x4, 4 at x2): 6 more at most.
    A second pass reads the first one's result through the reduction (about ``4 * scale`` taps: 2 input pixels a
    side) and has a field of its own."""
    radius = 1 + 3 * num_blocks + 1 + 1 + (1 if out_refine else 0)
    if second_pass:  # the second pass's field, then the reduction's taps (2 input pixels a side)
        return 2 * radius + 2
    return radius + 6 if texture else radius


def widened_state(network: SPAN, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The weights of a narrower SPAN (same depth, scale and options) placed in ``network`` so that it computes
    exactly what the narrower one did (Net2Net-style widening, Chen et al. 2016, with zeros instead of copies).

    The old channels keep their weights; the new ones keep ``network``'s random initialisation as their own
    outputs, and every weight from a new channel into an old one is zero: the new channels are computed but not
    yet read, so the output is unchanged, and since they carry non-zero activations the zero weights get
    gradients at once and the extra width starts to learn. The fusion's input is four groups of channels (head,
    tail, first and last block); each group widens on its own.
    """
    own = network.state_dict()
    old_c = state["head.weight"].shape[0]
    new_c = network.head.out_channels
    if set(state) != set(own):
        raise ValueError("the weights are not those of a SPAN with this network's depth and options")
    if old_c > new_c:
        raise ValueError(f"cannot widen {old_c} channels to {new_c}")

    def positions(size_old: int, size_new: int) -> torch.Tensor:
        if size_old == size_new:  # image channels, or the pixel shuffle's
            return torch.arange(size_old)
        groups = size_old // old_c
        if groups * old_c != size_old or groups * new_c != size_new:
            raise ValueError(f"a layer of {size_old} channels does not widen to {size_new}")
        return torch.cat([torch.arange(old_c) + g * new_c for g in range(groups)])

    grown: dict[str, torch.Tensor] = {}
    for name, tensor in own.items():
        old = state[name].to(tensor.dtype)
        new = tensor.detach().clone()
        rows = positions(old.shape[0], new.shape[0])
        if new.dim() == 1:
            new[rows] = old
        else:
            cols = positions(old.shape[1], new.shape[1])
            new[rows] = 0  # old outputs read nothing from the new channels ...
            new[rows[:, None], cols[None, :]] = old  # ... and everything they read before
        grown[name] = new
    return grown
