"""Training data: random HR crops from photos, LR made on the fly.

Clean runs make the LR image with the same MATLAB-compatible bicubic that the
evaluation protocol uses (srdesk.core.resample.matlab_bicubic's weights),
applied to a whole batch at once as two small matrix products, then
quantised to 8 bits. Runs for real photos pass a
:class:`srdesk.training.degrade.Degradation` instead: blur, resizes, noise
and JPEG, twice (see that module).

A share of the crops can come from the photos *reduced* first (``rescale_prob``,
``rescale_min``), as Real-ESRGAN trains on DF2K reduced to 3/4, 1/2 and 1/3
(its multi-scale data): a reduced photo is sharper and cleaner per pixel (its
own softness, sensor noise and JPEG shrink with it) and shows the network its
structures at more sizes than the 118 photos hold at their native scale.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from srdesk.core.constants import TRAINING_SUFFIXES
from srdesk.core.resample import cubic_keys, weight_matrix
from srdesk.training.degrade import Degradation, degrade_batch


def list_images(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in TRAINING_SUFFIXES)


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
    crop and the reduction (or the realistic degradation). Batch number k is
    drawn from its own generator seeded with (seed, k), so a resumed run (which
    only needs the next batch number) draws exactly the same batches, and
    ``workers`` processes can prepare the next batches while the model trains
    (a GPU would otherwise wait). Processes, not threads: a realistic batch
    also spends time in Python (kernels, parameters, a loop over samples),
    which threads of one process take turns at.
    """

    def __init__(self, paths: Sequence[Path], hr_size: int, scale: int, seed: int = 0,
                 degradation: Degradation | None = None, workers: int = 0,
                 rescale_prob: float = 0.0, rescale_min: float = 1.0) -> None:
        if not paths:
            raise ValueError("no training images found")
        if not 0.0 <= rescale_prob <= 1.0 or not 0.0 < rescale_min <= 1.0:
            raise ValueError(f"rescale_prob must be in [0, 1] and rescale_min in (0, 1], got {rescale_prob}, "
                             f"{rescale_min}")
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
        self.seed = seed
        self.index = 0  # the next batch number
        self.workers = workers
        self.rescale_prob = rescale_prob
        self.rescale_min = rescale_min
        self._stream: Iterator[tuple[torch.Tensor, torch.Tensor]] | None = None
        self._stream_at: tuple[int, int] = (-1, 0)  # (next batch number, batch size) the stream yields

    def make_batch(self, index: int, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch number ``index``: the same pixels whenever and wherever it is made."""
        rng = np.random.default_rng([self.seed, index])
        crops = np.empty((batch_size, self.hr_size, self.hr_size, 3), dtype=np.uint8)
        choice = rng.choice(len(self.images), size=batch_size, p=self.weights)
        for i, k in enumerate(choice):
            im = self.images[k]
            size = self.hr_size
            # draws only when rescaling is on, so the batches of runs without it stay as they were
            if self.rescale_prob and rng.random() < self.rescale_prob:
                factor = rng.uniform(self.rescale_min, 1.0)
                size = min(round(self.hr_size / factor), *im.shape[:2])
            top = int(rng.integers(0, im.shape[0] - size + 1))
            left = int(rng.integers(0, im.shape[1] - size + 1))
            crop = im[top : top + size, left : left + size]
            if size != self.hr_size:  # the photo reduced by size / hr_size, anti-aliased
                crop = np.asarray(Image.fromarray(crop).resize((self.hr_size, self.hr_size), Image.Resampling.LANCZOS))
            crop = np.rot90(crop, int(rng.integers(0, 4)))
            if rng.integers(0, 2):
                crop = crop[:, ::-1]
            crops[i] = crop
        hr = torch.from_numpy(crops).permute(0, 3, 1, 2).float().div_(255)
        clean = degrade_bicubic(hr, self.matrix)
        if self.degradation is None:
            return clean, hr
        return degrade_batch(hr, self.degradation, rng, clean=clean), hr

    def batch(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        index = self.index
        self.index += 1
        if not self.workers:
            return self.make_batch(index, batch_size)
        if self._stream is None or self._stream_at != (index, batch_size):
            self._stream = None  # ends the old workers before new ones start
            loader = torch.utils.data.DataLoader(_Batches(self, batch_size), batch_size=None,
                                                 sampler=itertools.count(index), num_workers=self.workers,
                                                 prefetch_factor=2)
            self._stream = iter(loader)
        self._stream_at = (index + 1, batch_size)
        return next(self._stream)

    def state(self) -> dict:
        return {"index": self.index}

    def set_state(self, state: dict) -> None:
        self.index = int(state.get("index", 0))

    def __getstate__(self) -> dict[str, Any]:
        """What a worker process started by spawning (not forking) needs: not the running stream."""
        return {**self.__dict__, "_stream": None, "_stream_at": (-1, 0)}


class _Batches(torch.utils.data.Dataset):
    """Batch number k of ``crops`` at a fixed batch size, for the worker processes of a DataLoader."""

    def __init__(self, crops: PhotoCrops, batch_size: int) -> None:
        self.crops = crops
        self.batch_size = batch_size

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.crops.make_batch(index, self.batch_size)
