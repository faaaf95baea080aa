"""SRResNet generator (Ledig et al. 2017, "Photo-Realistic Single Image
Super-Resolution Using a Generative Adversarial Network"), section 2.2.

head 9x9 conv + PReLU -> B residual blocks (conv-BN-PReLU-conv-BN + skip)
-> conv-BN + global skip from the head -> log2(scale) sub-pixel x2 stages
(conv to 4C, PixelShuffle, PReLU) -> 9x9 conv to RGB.

``batch_norm=False`` drops the BN layers, which Lim et al. 2017 (EDSR) showed
is better for super-resolution (BN removes range flexibility and costs
memory). ``image_skip`` adds a bilinear enlargement of the input to the
output so the network only learns the missing detail; with it training
starts from a sensible image instead of noise and converges much sooner.
Input and output are RGB in [0, 1].
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, batch_norm: bool) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=not batch_norm)
        self.bn1 = nn.BatchNorm2d(channels) if batch_norm else nn.Identity()
        self.act = nn.PReLU(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=not batch_norm)
        self.bn2 = nn.BatchNorm2d(channels) if batch_norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bn2(self.conv2(self.act(self.bn1(self.conv1(x)))))


class UpsampleStage(nn.Module):
    """Sub-pixel convolution (Shi et al. 2016): conv to factor^2 x C, then shuffle."""

    def __init__(self, channels: int, factor: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels * factor * factor, 3, padding=1)
        self.shuffle = nn.PixelShuffle(factor)
        self.act = nn.PReLU(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.shuffle(self.conv(x)))


def upsample_factors(scale: int) -> list[int]:
    """x2 stages for powers of two (the paper), a single x3 stage for 3."""
    if scale == 3:
        return [3]
    if scale >= 2 and scale & (scale - 1) == 0:
        return [2] * int(math.log2(scale))
    raise ValueError(f"SRResNet supports scales 2, 3, 4, 8; got {scale}")


class SRResNet(nn.Module):
    def __init__(
        self,
        scale: int = 4,
        num_blocks: int = 16,
        channels: int = 64,
        batch_norm: bool = True,
        image_skip: bool = False,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        self.scale = scale
        self.image_skip = image_skip
        self.head = nn.Sequential(nn.Conv2d(in_channels, channels, 9, padding=4), nn.PReLU(channels))
        self.body = nn.Sequential(*[ResidualBlock(channels, batch_norm) for _ in range(num_blocks)])
        self.body_tail = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=not batch_norm),
            nn.BatchNorm2d(channels) if batch_norm else nn.Identity(),
        )
        self.upsample = nn.Sequential(*[UpsampleStage(channels, f) for f in upsample_factors(scale)])
        self.tail = nn.Conv2d(channels, in_channels, 9, padding=4)
        self._init_weights(batch_norm)

    def _init_weights(self, batch_norm: bool) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, a=0.25, nonlinearity="leaky_relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        if not batch_norm:
            # Without BN a deep residual stack must start close to identity:
            # scale each block's last conv down (as BasicSR/EDSR do).
            for block in self.body:
                assert isinstance(block, ResidualBlock)
                block.conv2.weight.data.mul_(0.1)
        if self.image_skip:
            # Start from the bilinear enlargement: the tail adds detail only.
            self.tail.weight.data.mul_(0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.head(x)
        out = self.tail(self.upsample(features + self.body_tail(self.body(features))))
        if self.image_skip:
            out = out + F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return out
