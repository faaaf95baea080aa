"""Pixel Recursive evaluation: likelihood baselines, image scores, diversity, the whole report."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from PIL import Image

from srdesk.models.pixel_recursive import PixelRecursiveSR
from srdesk.training.pr_evaluate import (
    bicubic_levels,
    diversity,
    evaluate_faces,
    fit_laplace_scale,
    image_scores,
    laplace_bits,
    save_figure,
)
from srdesk.training.pr_trainer import RegressionNet, load_faces
from tests.training.fakes import smooth_faces


def test_laplace_bits_rewards_a_close_estimate() -> None:
    target = torch.randint(20, 230, (4, 3, 8, 8))
    exact = laplace_bits(target.float(), target, scale=0.5)
    near = laplace_bits(target.float() + 3, target, scale=3.0)
    far = laplace_bits(target.float() + 40, target, scale=3.0)
    assert exact < near < far
    assert laplace_bits(target.float(), target, scale=1e6) == pytest.approx(8.0, abs=0.001)  # ~uniform


def test_fitted_scale_follows_the_error() -> None:
    target = torch.randint(20, 230, (8, 3, 8, 8))
    noisy = target.float() + torch.randn(target.shape) * 2
    noisier = target.float() + torch.randn(target.shape) * 12
    assert fit_laplace_scale(noisy, target) < fit_laplace_scale(noisier, target)


def test_diversity_is_the_rms_difference_between_samples() -> None:
    base = torch.randint(0, 200, (5, 3, 4, 4))
    assert diversity(torch.stack([base, base, base])) == 0.0
    assert diversity(torch.stack([base, base + 6])) == pytest.approx(6.0)


def test_consistency_of_the_truth_is_high_and_of_a_wrong_image_low(tmp_path: Path) -> None:
    lr, hr = load_faces(smooth_faces(tmp_path, 6), "test", 32, 4)
    truth = image_scores(hr.float(), hr, lr)
    assert truth["psnr"] > 90 and truth["ssim"] == pytest.approx(1.0)
    assert truth["consistency_db"] > 40
    wrong = image_scores(hr.flip(0).float(), hr, lr)
    assert wrong["consistency_db"] < truth["consistency_db"] - 10
    assert image_scores(bicubic_levels(lr, 32), hr, lr)["psnr"] < truth["psnr"]


def test_the_report_has_every_number_and_an_untrained_model_loses_to_bicubic(tmp_path: Path) -> None:
    faces = smooth_faces(tmp_path / "faces", 12)
    torch.manual_seed(0)
    model = PixelRecursiveSR(scale=4, cond_channels=8, cond_blocks=1, prior_channels=6, prior_layers=2)
    result = evaluate_faces(model, faces, RegressionNet(4, 8, 1), sample_faces=3, samples=2,
                            temperatures=(1.0, 0.8), figure_faces=2, hr_size=16)
    nll = result.metrics["nll_bits_per_subpixel"]
    assert set(nll) >= {"pixel_recursive", "conditioning_alone", "bicubic", "regression"}
    assert nll["pixel_recursive"] > nll["bicubic"]  # untrained: about 8 bits
    assert all(math.isfinite(v) for v in nll.values())
    images = result.metrics["images"]
    assert set(images) == {"bicubic", "regression", "samples_tau_1", "samples_tau_0.8", "samples_tau_1_consistent",
                           "samples_tau_0.8_consistent"}
    assert images["samples_tau_1"]["diversity_rms_levels"] > 0
    assert images["bicubic"]["consistency_db"] > images["samples_tau_1"]["consistency_db"]
    # what the app shows: the same draws made consistent with their input, still different from each other
    assert images["samples_tau_1_consistent"]["consistency_db"] > images["bicubic"]["consistency_db"]
    assert images["samples_tau_1_consistent"]["diversity_rms_levels"] > 0
    # input, bicubic, regression, 2 samples, truth
    assert len(result.figure_rows) == 2 and len(result.figure_rows[0]) == 6
    save_figure(result.figure_rows, tmp_path / "figure.png")
    with Image.open(tmp_path / "figure.png") as im:
        assert im.size == (6 * 48 + 5 * 3, 2 * 48 + 3)


def test_regression_baseline_trains_and_resumes(tmp_path: Path) -> None:
    from srdesk.training.pr_trainer import PRConfig, RegressionTrainer

    faces = smooth_faces(tmp_path / "faces", 16)
    config = PRConfig(run_dir=str(tmp_path / "run"), faces_dir=str(faces), steps=30, batch_size=4, lr=3e-3,
                      cond_channels=8, cond_blocks=1, val_every=30, checkpoint_every=30, log_every=10, threads=1)
    trainer = RegressionTrainer(config)
    first = trainer.train_step()["mse"]
    trainer.fit()
    assert trainer.step == 30
    assert trainer.train_step()["mse"] < 0.5 * first
    assert (tmp_path / "run" / "best.safetensors").exists()
    again = RegressionTrainer(config)
    assert again.resume() and again.step == 30
