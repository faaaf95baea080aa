"""Pixel Recursive training on faces: learns, checkpoints and resumes exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from srdesk.training.pr_trainer import PRConfig, PRTrainer, load_faces
from tests.training.fakes import smooth_faces


def tiny_config(run: Path, faces: Path, steps: int) -> PRConfig:
    return PRConfig(run_dir=str(run), faces_dir=str(faces), steps=steps, batch_size=4, lr=3e-3, cond_channels=8,
                    cond_blocks=1, prior_channels=6, prior_layers=2, hr_size=16, val_every=0,
                    checkpoint_every=1000, log_every=5, threads=1, lr_schedule="constant")


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return smooth_faces(tmp_path_factory.mktemp("faces"), 12)


def test_bits_per_subpixel_fall(tmp_path: Path, faces: Path) -> None:
    trainer = PRTrainer(tiny_config(tmp_path / "run", faces, 40))
    first = trainer.train_step()["bits"]
    trainer.fit()
    assert trainer.train_step()["bits"] < first - 0.5


def test_resume_continues_exactly(tmp_path: Path, faces: Path) -> None:
    straight = PRTrainer(tiny_config(tmp_path / "a", faces, 6))
    straight.fit()
    expected = straight.train_step()["loss"]
    first = PRTrainer(tiny_config(tmp_path / "b", faces, 3))
    first.fit()
    second = PRTrainer(tiny_config(tmp_path / "b", faces, 6))
    assert second.resume() and second.step == 3
    second.fit()
    assert second.train_step()["loss"] == pytest.approx(expected, rel=1e-5)
    for a, b in zip(straight.model.parameters(), second.model.parameters(), strict=True):
        torch.testing.assert_close(a, b)


def test_a_run_continues_from_earlier_weights(tmp_path: Path, faces: Path) -> None:
    earlier = PRTrainer(tiny_config(tmp_path / "earlier", faces, 30))
    earlier.fit()
    weights = tmp_path / "earlier.safetensors"
    save_file(earlier.model.state_dict(), str(weights))
    fresh = PRTrainer(tiny_config(tmp_path / "fresh", faces, 1))
    config = tiny_config(tmp_path / "continued", faces, 1)
    config.init_from = str(weights)
    continued = PRTrainer(config)
    shipped = load_file(str(weights))
    assert all(torch.equal(v, shipped[k]) for k, v in continued.model.state_dict().items())
    test_faces = load_faces(faces, "test", 16, 4)
    fresh.validation = continued.validation = test_faces
    assert continued.validate()["bits"] < fresh.validate()["bits"] - 0.3
