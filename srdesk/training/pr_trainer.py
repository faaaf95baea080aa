"""Pixel Recursive SR training on aligned faces: 8x8 -> 32x32, like the paper.

HR = the 64x64 crops reduced to 32x32, LR = HR reduced to 8x8, both with
the MATLAB-compatible bicubic and quantised to 8 bits. The split is the data
set's identity-disjoint ``splits.json``. Uses the shared resumable
:class:`~srdesk.training.trainer.Trainer` (checkpoints, CSV log, best export).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn

from srdesk.core.resample import matlab_bicubic
from srdesk.models import registry
from srdesk.models.pixel_recursive import ConditioningNet, PixelRecursiveSR
from srdesk.training.data import load_rgb_uint8
from srdesk.training.trainer import RunConfig, Trainer, init_matching


@dataclass
class PRConfig(RunConfig):
    run_dir: str = "runs/pixel-recursive-faces-x4"
    faces_dir: str = "../shared/data/faces"
    lr: float = 1e-3
    batch_size: int = 32
    hr_size: int = 32
    scale: int = 4
    cond_channels: int = 64
    cond_blocks: int = 2
    prior_channels: int = 48
    prior_layers: int = 6
    prior_kernel: int = 3
    val_images: int = 300  # of the test split, for NLL during training
    init_from: str = ""  # safetensors of an earlier run of the same network: continue from its weights

    def architecture(self) -> dict[str, Any]:
        return {"arch": "pixel-recursive", "scale": self.scale, "cond_channels": self.cond_channels,
                "cond_blocks": self.cond_blocks, "prior_channels": self.prior_channels,
                "prior_layers": self.prior_layers, "prior_kernel": self.prior_kernel}


def reduce(images: np.ndarray, size: int) -> np.ndarray:
    """uint8 (N, H, W, 3) -> uint8 (N, size, size, 3) with the MATLAB bicubic."""
    out = np.empty((len(images), size, size, 3), dtype=np.uint8)
    for k, im in enumerate(images):
        out[k] = np.clip(np.round(matlab_bicubic(im.astype(np.float64) / 255, (size, size)) * 255), 0, 255)
    return out


def load_faces(faces_dir: Path, split: str, hr_size: int, scale: int, limit: int | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """(LR float (N, 3, h, w) in [0, 1], HR levels long (N, 3, H, W))."""
    names = json.loads((faces_dir / "splits.json").read_text())[split]
    if limit:
        names = names[:limit]
    full = np.stack([load_rgb_uint8(faces_dir / "64" / name) for name in names])
    hr = reduce(full, hr_size)
    lr = reduce(hr, hr_size // scale)
    return (torch.from_numpy(lr).permute(0, 3, 1, 2).float() / 255,
            torch.from_numpy(hr).permute(0, 3, 1, 2).long())


class FaceBatches:
    def __init__(self, lr: torch.Tensor, hr: torch.Tensor, seed: int) -> None:
        self.lr, self.hr = lr, hr
        self.rng = np.random.default_rng(seed)

    def batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.from_numpy(self.rng.integers(0, len(self.hr), size=n))
        lr, hr = self.lr[idx], self.hr[idx]
        if self.rng.integers(0, 2):  # faces are aligned: only left-right flips keep them faces
            lr, hr = lr.flip(-1), hr.flip(-1)
        return lr, hr

    def state(self) -> dict:
        return dict(self.rng.bit_generator.state)

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


def build_model(config: PRConfig) -> PixelRecursiveSR:
    """The network the card's architecture describes: built by the registry's descriptor, as srdesk loads it."""
    params = config.architecture()
    model = registry.architecture(params["arch"]).build(params)
    assert isinstance(model, PixelRecursiveSR)
    return model


class FacesTrainer(Trainer):
    """What the Pixel Recursive model and its L2 baseline share: the faces, one model, one Adam."""

    def __init__(self, config: PRConfig, build: Callable[[PRConfig], nn.Module], data: FaceBatches | None = None,
                 validation: tuple[torch.Tensor, torch.Tensor] | None = None) -> None:
        super().__init__(config)  # seeds torch before the model is built
        self.config: PRConfig = config
        self.model = build(config).to(self.device)
        if config.init_from:
            self.init_report = init_matching(self.model, load_file(config.init_from))
        self.opt = torch.optim.Adam(self.model.parameters(), lr=config.lr)
        faces = Path(config.faces_dir)
        if data is None:
            data = FaceBatches(*load_faces(faces, "train", config.hr_size, config.scale), seed=config.seed)
        self.data = data
        if validation is None and config.val_every:
            validation = load_faces(faces, "test", config.hr_size, config.scale, limit=config.val_images)
        self.validation = validation

    def modules(self) -> dict[str, nn.Module]:
        return {"model": self.model}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"model": self.opt}

    def best_module(self) -> nn.Module:
        return self.model

    def extra_state(self) -> dict[str, Any]:
        return {"data_rng": self.data.state()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.data.set_state(state["data_rng"])


class PRTrainer(FacesTrainer):
    model: PixelRecursiveSR

    def __init__(self, config: PRConfig, data: FaceBatches | None = None,
                 validation: tuple[torch.Tensor, torch.Tensor] | None = None) -> None:
        super().__init__(config, build_model, data, validation)

    def train_step(self) -> dict[str, float]:
        lr, hr = self.data.batch(self.config.batch_size)
        lr, hr = lr.to(self.device), hr.to(self.device)
        with self.autocast():
            loss, nll = self.model.loss(self.model(lr, hr), hr)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return {"loss": loss.item(), "bits": nll.item() / math.log(2)}

    def validate(self) -> dict[str, float]:
        assert self.validation is not None
        lr_all, hr_all = self.validation
        total, cond_total, count = 0.0, 0.0, 0
        for start in range(0, len(hr_all), 100):
            lr, hr = lr_all[start : start + 100].to(self.device), hr_all[start : start + 100].to(self.device)
            out = self.model(lr, hr)
            total += torch.nn.functional.cross_entropy(out.combined.transpose(1, 2), hr, reduction="sum").item()
            cond_total += torch.nn.functional.cross_entropy(out.conditioning.transpose(1, 2), hr,
                                                            reduction="sum").item()
            count += hr.numel()
        bits = total / count / math.log(2)
        return {"bits": bits, "cond_bits": cond_total / count / math.log(2), "score": -bits}


class RegressionNet(nn.Module):
    """The paper's regression baseline: the conditioning network's body with a 3-channel head, trained with L2."""

    def __init__(self, scale: int = 4, channels: int = 64, blocks: int = 2) -> None:
        super().__init__()
        body = ConditioningNet(scale, channels, blocks)
        body.net[-1] = nn.Conv2d(channels, 3, 1)
        self.net = body.net

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        """LR in [0, 1] -> HR estimate in [0, 1] (unclipped)."""
        return (self.net(lr * 2 - 1) + 1) / 2


class RegressionTrainer(FacesTrainer):
    """Trains :class:`RegressionNet` on the same faces, split and schedule as the Pixel Recursive model."""

    def __init__(self, config: PRConfig, data: FaceBatches | None = None,
                 validation: tuple[torch.Tensor, torch.Tensor] | None = None) -> None:
        super().__init__(config, lambda c: RegressionNet(c.scale, c.cond_channels, c.cond_blocks), data, validation)

    def train_step(self) -> dict[str, float]:
        lr, hr = self.data.batch(self.config.batch_size)
        lr, hr = lr.to(self.device), hr.to(self.device).float() / 255
        with self.autocast():
            loss = torch.nn.functional.mse_loss(self.model(lr), hr)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return {"mse": loss.item()}

    def validate(self) -> dict[str, float]:
        assert self.validation is not None
        lr, hr = self.validation
        predicted = self.model(lr.to(self.device)).clamp(0, 1)
        mse = torch.mean((predicted * 255 - hr.to(self.device).float()) ** 2).item()
        psnr = 10 * math.log10(255**2 / mse)
        return {"psnr": psnr, "score": psnr}
