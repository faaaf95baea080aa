"""Shared fixtures: small images made on the fly, a tiny random learned model, data paths."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
# ../shared beside the clone, as on the developers' machines and in CI.
SHARED_DATA = Path(os.environ.get("SRDESK_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_data(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def photo(rng: np.random.Generator) -> np.ndarray:
    """A 48x64 smooth-plus-texture RGB float image in [0, 1]."""
    y, x = np.mgrid[0:48, 0:64].astype(np.float32)
    base = np.stack([0.5 + 0.4 * np.sin(x / 7), 0.5 + 0.4 * np.cos(y / 5), (x + y) / 112], axis=2)
    return np.clip(base + 0.05 * rng.standard_normal(base.shape), 0, 1).astype(np.float32)


@pytest.fixture
def tiny_model():
    """A registered x4 SRResNet with 1 block of 8 channels and fixed random weights."""
    import torch

    from srdesk.engine import pipeline
    from srdesk.models import registry
    from srdesk.models.srresnet import SRResNet

    def build() -> torch.nn.Module:
        torch.manual_seed(0)
        return SRResNet(scale=4, num_blocks=1, channels=8, batch_norm=False, image_skip=True)

    # receptive radius: 9x9 head (4) + 2 block convs + body tail (3) + upsampling convs (<1) + 9x9 tail (1) = 9
    entry = registry.ModelEntry("tiny-x4", "learned", "tiny random test model", scale=4, build=build,
                                receptive_radius=10)
    registry.register(entry)
    pipeline.clear_model_cache()
    yield entry
    registry.unregister("tiny-x4")
    pipeline.clear_model_cache()


@pytest.fixture
def tiny_sampler():
    """A registered Pixel Recursive x4 sampler (8x8 tiles) with tiny fixed random weights."""
    import torch

    from srdesk.engine import pipeline
    from srdesk.models import registry
    from srdesk.models.pixel_recursive import PixelRecursiveSR

    def build() -> torch.nn.Module:
        torch.manual_seed(0)
        return PixelRecursiveSR(scale=4, cond_channels=8, cond_blocks=1, prior_channels=6, prior_layers=2)

    entry = registry.ModelEntry("tiny-sampler-x4", "sampler", "tiny random sampling model", scale=4, build=build)
    registry.register(entry)
    pipeline.clear_model_cache()
    yield entry
    registry.unregister("tiny-sampler-x4")
    pipeline.clear_model_cache()
