"""Training data: random HR crops from photos, LR made on the fly.

Clean runs make the LR image with the same MATLAB-compatible bicubic that the
evaluation protocol uses (srdesk.core.resample.matlab_bicubic's weights),
applied to a whole batch at once as two small matrix products, then
quantised to 8 bits. Runs for real photos pass a
:class:`srdesk.training.degrade.Degradation` instead: blur, resizes, noise
and JPEG, twice (see that module).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from srdesk.core.resample import cubic_keys, weight_matrix
from srdesk.training.degrade import Degradation, degrade_batch

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")


def list_images(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def load_rgb_uint8(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


def bicubic_downsampler(hr_size: int, scale: int) -> torch.Tensor:
    """(lr, hr) matrix of the MATLAB bicubic reduction for square crops."""
    return torch.from_numpy(weight_matrix(hr_size, hr_size // scale, cubic_keys, 4.0, True, np.float32))


def degrade_bicubic(hr: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """(N, C, S, S) in [0, 1] -> (N, C, S/scale, S/scale), 8-bit quantised."""
    lr = torch.einsum("ih,nchw,jw->ncij", matrix, hr, matrix)
    return torch.round(lr.clamp(0, 1) * 255) / 255


class PhotoCrops:
    """Random square crops with the 8 flips/rotations, sampled by image area.

    All photos are decoded once into memory (uint8), so a step costs only the
    crop and the batched reduction. Sampling uses its own numpy Generator whose
    state is checkpointed, so a resumed run draws exactly the same batches.
    """

    def __init__(self, paths: Sequence[Path], hr_size: int, scale: int, seed: int = 0,
                 degradation: Degradation | None = None) -> None:
        if not paths:
            raise ValueError("no training images found")
        if hr_size % scale:
            raise ValueError(f"crop size {hr_size} is not a multiple of the scale {scale}")
        self.images = [load_rgb_uint8(p) for p in paths]
        self.images = [im for im in self.images if min(im.shape[:2]) >= hr_size]
        if not self.images:
            raise ValueError(f"no training image is at least {hr_size} px on its short side")
        areas = np.array([im.shape[0] * im.shape[1] for im in self.images], dtype=np.float64)
        self.weights = areas / areas.sum()
        self.hr_size = hr_size
        self.scale = scale
        self.matrix = bicubic_downsampler(hr_size, scale)
        self.degradation = degradation
        self.rng = np.random.default_rng(seed)

    def batch(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        crops = np.empty((batch_size, self.hr_size, self.hr_size, 3), dtype=np.uint8)
        choice = self.rng.choice(len(self.images), size=batch_size, p=self.weights)
        for i, k in enumerate(choice):
            im = self.images[k]
            top = int(self.rng.integers(0, im.shape[0] - self.hr_size + 1))
            left = int(self.rng.integers(0, im.shape[1] - self.hr_size + 1))
            crop = im[top : top + self.hr_size, left : left + self.hr_size]
            crop = np.rot90(crop, int(self.rng.integers(0, 4)))
            if self.rng.integers(0, 2):
                crop = crop[:, ::-1]
            crops[i] = crop
        hr = torch.from_numpy(crops).permute(0, 3, 1, 2).float().div_(255)
        clean = degrade_bicubic(hr, self.matrix)
        if self.degradation is None:
            return clean, hr
        return degrade_batch(hr, self.degradation, self.rng, clean=clean), hr

    def state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state
