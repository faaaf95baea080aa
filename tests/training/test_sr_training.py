"""Training: every adversarial variant learns, WGAN clips, GP on interpolates, exact resume."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from srdesk.training import losses
from srdesk.training.data import bicubic_downsampler, degrade_bicubic
from srdesk.training.sr_trainer import SRConfig, SRTrainer, apply_stage2_defaults, keeps_best_psnr
from srdesk.training.trainer import learning_rate


class SyntheticCrops:
    """Smooth random colour fields: learnable, tiny, with checkpointable sampling state."""

    def __init__(self, size: int = 32, scale: int = 4, seed: int = 0, pool: int = 8) -> None:
        gen = torch.Generator().manual_seed(seed)
        coarse = torch.rand(pool, 3, size // 8, size // 8, generator=gen)
        self.hr = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bicubic").clamp(0, 1)
        self.lr = degrade_bicubic(self.hr, bicubic_downsampler(size, scale))
        self.rng = np.random.default_rng(seed)

    def batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.from_numpy(self.rng.integers(0, len(self.hr), size=n))
        return self.lr[idx], self.hr[idx]

    def state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


def tiny_config(tmp_path: Path, **overrides) -> SRConfig:
    config = SRConfig(run_dir=str(tmp_path / "run"), steps=10, batch_size=4, crop=32, blocks=1, channels=8,
                      val_dir="", holdout=[], checkpoint_every=1000, val_every=0, log_every=1, lr=1e-3,
                      lr_schedule="constant", device="cpu", threads=1, d_channels=8)
    for k, v in overrides.items():
        setattr(config, k, v)
    return config


def test_pixel_stage_reduces_loss(tmp_path: Path) -> None:
    trainer = SRTrainer(tiny_config(tmp_path), data=SyntheticCrops())
    first = np.mean([trainer.train_step()["pixel"] for _ in range(3)])
    for _ in range(30):
        trainer.train_step()
    last = np.mean([trainer.train_step()["pixel"] for _ in range(3)])
    assert last < 0.7 * first


@pytest.mark.parametrize("kind", ["gan", "wgan", "wgan-gp", "patchgan"])
def test_adversarial_variants_learn(tmp_path: Path, kind: str) -> None:
    """Against a fixed generator the critic's loss falls; in joint training the generator improves."""
    torch.manual_seed(0)
    config = apply_stage2_defaults(tiny_config(tmp_path, adversarial=kind, content_loss="pixel", adv_weight=1e-3))
    config.n_critic = 1  # keep the test short; the defaults' n_critic is checked below
    config.d_lr = 1e-3 if kind != "wgan" else 5e-4
    config.clip = 0.05
    config.lr = 0.0  # phase 1: the generator stands still
    trainer = SRTrainer(config, data=SyntheticCrops())
    assert trainer.discriminator is not None
    trainer.set_learning_rate()
    first = [trainer.train_step()["d_loss"] for _ in range(3)]
    for _ in range(15):
        trainer.train_step()
    last = [trainer.train_step()["d_loss"] for _ in range(3)]
    assert np.mean(last) < np.mean(first)

    config.lr = 1e-3 if kind != "wgan" else 5e-4  # phase 2: both learn
    trainer.set_learning_rate()
    first_pixel = np.mean([trainer.train_step()["pixel"] for _ in range(3)])
    for _ in range(15):
        trainer.train_step()
    last_pixel = np.mean([trainer.train_step()["pixel"] for _ in range(3)])
    assert last_pixel < first_pixel


def test_stage2_defaults_follow_the_papers(tmp_path: Path) -> None:
    wgan = apply_stage2_defaults(tiny_config(tmp_path, adversarial="wgan"))
    assert wgan.d_lr == 5e-5 and wgan.lr == 5e-5 and wgan.n_critic == 5
    trainer = SRTrainer(wgan, data=SyntheticCrops())
    assert isinstance(trainer.d_opt, torch.optim.RMSprop) and isinstance(trainer.g_opt, torch.optim.RMSprop)
    gp = apply_stage2_defaults(tiny_config(tmp_path, adversarial="wgan-gp"))
    assert gp.d_norm == "none" and gp.n_critic == 5
    assert apply_stage2_defaults(tiny_config(tmp_path, adversarial="patchgan")).discriminator == "patch"


def test_wgan_clipping_keeps_every_critic_weight_in_range(tmp_path: Path) -> None:
    config = apply_stage2_defaults(tiny_config(tmp_path, adversarial="wgan", clip=0.01))
    config.n_critic = 2
    trainer = SRTrainer(config, data=SyntheticCrops())
    for _ in range(3):
        trainer.train_step()
    assert trainer.discriminator is not None
    biggest = max(p.abs().max().item() for p in trainer.discriminator.parameters())
    assert biggest <= 0.01 + 1e-9


def test_gradient_penalty_on_interpolates() -> None:
    """A linear critic has gradient w everywhere: the penalty is (||w|| - 1)^2, on points between real and fake."""
    seen: list[torch.Tensor] = []

    class Linear(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.full((1, 3, 4, 4), 0.5))

        def forward(self, x: torch.Tensor, condition=None) -> torch.Tensor:
            seen.append(x.detach().clone())
            return (x * self.w).flatten(1).sum(1)

    real, fake = torch.rand(6, 3, 4, 4), torch.rand(6, 3, 4, 4)
    penalty = losses.gradient_penalty(Linear(), real, fake)
    expected = (torch.full((48,), 0.5).norm() - 1) ** 2
    assert torch.allclose(penalty, expected)
    t = (seen[0] - fake) / (real - fake)  # the same eps for every pixel of a sample, in [0, 1]
    per_sample = t.flatten(1)
    assert torch.allclose(per_sample, per_sample[:, :1].expand_as(per_sample), atol=1e-4)
    assert (per_sample >= -1e-6).all() and (per_sample <= 1 + 1e-6).all()


@pytest.mark.parametrize(("adversarial", "ema_decay"), [("", 0.0), ("wgan-gp", 0.0), ("gan", 0.9)])
def test_resume_gives_the_same_next_loss(tmp_path: Path, adversarial: str, ema_decay: float) -> None:
    def make(run: str) -> SRTrainer:
        config = tiny_config(tmp_path, run_dir=str(tmp_path / run), steps=6, adversarial=adversarial, n_critic=1,
                             lr_schedule="cosine", ema_decay=ema_decay, artifact_weight=1.0 if ema_decay else 0.0)
        torch.manual_seed(0)
        return SRTrainer(config, data=SyntheticCrops())

    straight = make("a")
    rows: list[dict] = []
    straight.fit(on_log=rows.append)

    interrupted = make("b")

    def interrupt_after_three(row: dict) -> None:  # what Ctrl-C does: finish the step, checkpoint, stop
        if row["step"] == 3:
            interrupted._stop_requested = True

    interrupted.fit(on_log=interrupt_after_three)
    resumed = make("b")
    assert resumed.resume() and resumed.step == 3
    resumed_rows: list[dict] = []
    resumed.fit(on_log=resumed_rows.append)
    key = "pixel"
    assert [r[key] for r in resumed_rows] == pytest.approx([r[key] for r in rows[3:]], rel=1e-6, abs=1e-9)
    for a, b in zip(straight.generator.state_dict().values(), resumed.generator.state_dict().values(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)
    for a, b in zip(straight.best_module().state_dict().values(), resumed.best_module().state_dict().values(),
                    strict=True):  # the moving average is checkpointed too
        assert torch.allclose(a, b, atol=1e-6)


def test_learning_rate_schedules() -> None:
    from srdesk.training.trainer import RunConfig

    cosine = RunConfig(steps=100, lr=1e-3, lr_min=0.0)
    assert learning_rate(cosine, 0) == pytest.approx(1e-3)
    assert learning_rate(cosine, 50) == pytest.approx(5e-4)
    assert learning_rate(cosine, 100) == pytest.approx(0.0, abs=1e-12)
    step = RunConfig(lr=1e-3, lr_schedule="step", lr_step_every=10)
    assert learning_rate(step, 25) == pytest.approx(2.5e-4)
    # a warm restart at step 100: the same curve, counted from there (warm-up included)
    restart = RunConfig(steps=1100, lr=1e-3, lr_min=0.0, schedule_start=100, warmup_steps=10)
    assert learning_rate(restart, 100) == pytest.approx(1e-4)
    assert learning_rate(restart, 110) == pytest.approx(learning_rate(RunConfig(steps=1000, lr=1e-3), 10))
    assert learning_rate(restart, 600) == pytest.approx(5e-4)
    assert learning_rate(restart, 1100) == pytest.approx(0.0, abs=1e-12)


def test_checkpoint_and_log_files(tmp_path: Path) -> None:
    trainer = SRTrainer(tiny_config(tmp_path, steps=4, checkpoint_every=2), data=SyntheticCrops())
    trainer.fit()
    run = tmp_path / "run"
    assert (run / "checkpoint.pt").exists() and (run / "config.json").exists()
    lines = (run / "log.csv").read_text().splitlines()
    assert lines[0].startswith("step,time,lr") and len(lines) == 5
    state = torch.load(run / "checkpoint.pt", weights_only=True)  # no pickled code in checkpoints
    assert state["step"] == 4


def test_a_log_column_that_appears_later_widens_the_header_and_keeps_every_row_aligned(tmp_path: Path) -> None:
    import csv

    trainer = SRTrainer(tiny_config(tmp_path), data=SyntheticCrops())
    trainer.run_dir.mkdir(parents=True)
    trainer._log({"step": 1, "time": 0.1, "lr": 1e-3, "pixel": 0.5})
    trainer._log({"step": 2, "time": 0.2, "lr": 1e-3, "pixel": 0.4, "val_niqe": 20.0})  # a new metric
    trainer._log({"step": 3, "time": 0.3, "lr": 1e-3, "pixel": 0.3})
    with open(trainer.run_dir / "log.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["pixel"] for r in rows] == ["0.5", "0.4", "0.3"]
    assert [r["val_niqe"] for r in rows] == ["", "20.0", ""]
    assert all(None not in r for r in rows)  # no value without a column


def test_unet_discriminator_with_random_feature_content_learns(tmp_path: Path) -> None:
    """Real-ESRGAN's per-pixel U-Net critic (spectral norm) and the generic perceptual loss train together."""
    torch.manual_seed(0)
    config = apply_stage2_defaults(tiny_config(tmp_path, adversarial="gan", discriminator="unet",
                                               content_loss="random-features", adv_weight=1e-2, pixel_weight=1.0))
    assert config.d_norm == "none"
    config.d_lr = 1e-3
    trainer = SRTrainer(config, data=SyntheticCrops())
    assert type(trainer.discriminator).__name__ == "UNetDiscriminatorSN"
    first = np.mean([trainer.train_step()["pixel"] for _ in range(3)])
    for _ in range(25):
        out = trainer.train_step()
    last = np.mean([trainer.train_step()["pixel"] for _ in range(3)])
    assert last < first and np.isfinite(out["d_loss"]) and out["content"] > 0


def test_the_cell_view_of_the_patch_discriminator_is_built_at_the_runs_scale_and_trained(tmp_path: Path) -> None:
    """d_cells: the patch critic's second head looks at the generator's 4x4 output cells; a run trains it with
    the patches' head (its weights move, the critic's loss falls against a fixed generator)."""
    torch.manual_seed(0)
    config = tiny_config(tmp_path, adversarial="gan", discriminator="patch", d_antialias=True, d_cells=True,
                         content_loss="random-features", adv_weight=1e-2, pixel_weight=1.0, d_lr=1e-3, lr=0.0)
    trainer = SRTrainer(config, data=SyntheticCrops())
    cells = getattr(trainer.discriminator, "cells", None)
    assert cells is not None and cells[0].in_channels == 3 * (4 * 4 + 1)
    before = cells[0].weight.detach().clone()
    first = np.mean([trainer.train_step()["d_loss"] for _ in range(3)])
    for _ in range(15):
        trainer.train_step()
    last = np.mean([trainer.train_step()["d_loss"] for _ in range(3)])
    assert last < first and not torch.equal(before, cells[0].weight)


def test_random_features_loss_is_fixed_zero_on_equal_images_and_passes_gradients() -> None:
    a, b = losses.RandomFeatures(seed=1), losses.RandomFeatures(seed=1)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not any(p.requires_grad for p in a.parameters())
    hr = torch.rand(2, 3, 32, 32)
    assert float(a(hr, hr)) == 0.0
    sr = (hr + 0.1 * torch.randn_like(hr)).requires_grad_(True)
    loss = a(sr, hr)
    loss.backward()
    assert float(loss.detach()) > 0 and sr.grad is not None and float(sr.grad.abs().sum()) > 0
    blurred = torch.nn.functional.avg_pool2d(hr, 3, 1, 1)
    assert float(a(blurred, hr)) > 0.05  # blur is seen


def test_random_features_pool_spreads_gradients_evenly_so_no_pixel_grid_is_taught() -> None:
    """Max-pooling sends each 2x2 block's gradient to one pixel; through the loss, a pixel-shuffle generator
    learnt a 4 px grid from that (measured: 1.0-1.5 grey levels of 4-periodic pattern after 200-750 steps,
    against 0.04 without the loss). The anti-aliased pool spreads it evenly."""

    def phase_spread(loss: losses.RandomFeatures) -> float:
        hr = torch.full((1, 3, 32, 32), 0.5)
        sr = (hr + 0.02).requires_grad_(True)
        loss(sr, hr).backward()
        assert sr.grad is not None
        g = sr.grad[0, :, 8:-8, 8:-8].abs().sum(0)
        phases = g.reshape(4, 4, 4, 4).mean(dim=(0, 2))  # mean |gradient| per (y % 4, x % 4)
        return float(phases.std() / phases.mean())

    assert phase_spread(losses.RandomFeatures(seed=0)) < 0.05
    assert phase_spread(losses.RandomFeatures(seed=0, pool=losses.max_pool)) > 0.15


def test_unknown_content_loss_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown content loss"):
        SRTrainer(tiny_config(tmp_path, content_loss="vgg"), data=SyntheticCrops())


def test_sharpened_targets_aim_the_losses_at_an_unsharp_masked_photo(tmp_path: Path) -> None:
    from srdesk.training.degrade import unsharp_mask

    crops = SyntheticCrops()
    lr, hr = crops.lr[:2], crops.hr[:2]
    plain = SRTrainer(tiny_config(tmp_path / "a"), data=SyntheticCrops())
    assert torch.equal(plain._target(lr, hr), hr)
    sharpened = SRTrainer(tiny_config(tmp_path / "b", sharpen_weight=1.0, sharpen_sigma=2.0, sharpen_threshold=0.0),
                          data=SyntheticCrops())
    assert torch.equal(sharpened._target(lr, hr), unsharp_mask(hr, 1.0, 2.0, 0.0))
    assert not torch.allclose(sharpened._target(lr, hr), hr)
    # the generator learns the sharpened target: its outputs gain contrast against the plain run's
    for trainer in (plain, sharpened):
        torch.manual_seed(0)
        for _ in range(40):
            trainer.train_step()
    lr = SyntheticCrops().lr[:4]
    with torch.no_grad():
        spread = [float(t.generator(lr).diff(dim=-1).abs().mean()) for t in (plain, sharpened)]
    assert spread[1] > spread[0]
    # its validation PSNR is against the unsharpened photos: the run keeps its latest weights, not the best PSNR
    assert keeps_best_psnr(plain.config) and not keeps_best_psnr(sharpened.config)
    assert sharpened.validate()["score"] == sharpened.step


def test_stage_one_adds_the_generic_perceptual_loss_when_asked(tmp_path: Path) -> None:
    plain = SRTrainer(tiny_config(tmp_path / "a"), data=SyntheticCrops())
    assert set(plain.train_step()) == {"pixel"}
    with_features = SRTrainer(tiny_config(tmp_path / "b", content_loss="random-features", content_weight=0.5),
                              data=SyntheticCrops())
    row = with_features.train_step()
    assert row["loss"] == pytest.approx(row["pixel"] + 0.5 * row["content"], rel=1e-5)
    assert row["content"] > 0


def test_artifact_map_marks_patterns_the_moving_average_does_not_make() -> None:
    """LDL: a pattern in the residual counts, a uniform offset does not, nor anything the average does worse."""
    torch.manual_seed(0)
    target = torch.full((1, 3, 32, 32), 0.5)
    pattern = target.clone()
    pattern[..., 8:24, 8:24] += 0.2 * torch.rand(1, 1, 16, 16)  # dots of all strengths over a flat area
    weight = losses.artifact_map(target, pattern, sr_ema=target)
    assert weight.shape == (1, 1, 32, 32)
    assert weight[..., 12:20, 12:20].min() > 0 and weight[..., :2, :2].max() == 0
    assert losses.artifact_map(target, target + 0.1, sr_ema=target).abs().max() < 1e-6  # local variance 0
    assert losses.artifact_map(target, pattern, sr_ema=pattern + 0.2).abs().max() == 0  # the average is worse
    assert losses.artifact_map(target, target, sr_ema=target).abs().max() == 0
    # the loss pulls the pattern back towards the target, only where the map is non-zero
    sr = pattern.clone().requires_grad_(True)
    losses.artifact_loss(target, sr, target).backward()
    assert sr.grad is not None and sr.grad[..., :4, :4].abs().max() == 0
    assert (sr.grad[..., 12:20, 12:20] * (pattern - target)[..., 12:20, 12:20]).sum() > 0


def test_chroma_loss_sees_colour_not_brightness() -> None:
    image = torch.rand(2, 3, 8, 8)
    assert losses.chroma_loss(image + 0.1, image) < 1e-6  # grey offset: same colour
    tinted = image.clone()
    tinted[:, 0] += 0.1
    assert losses.chroma_loss(tinted, image) > 0.01


def test_spectrum_loss_charges_power_the_photo_lacks_not_softness_or_other_texture() -> None:
    generator = torch.Generator().manual_seed(0)

    def smooth_texture() -> torch.Tensor:  # most power at low frequencies, as in photos
        noise = torch.rand(2, 3, 64, 64, generator=generator)
        return F.avg_pool2d(F.avg_pool2d(noise, 5, 1, 2, count_include_pad=False), 5, 1, 2, count_include_pad=False)

    photo = smooth_texture()
    assert losses.spectrum_loss(photo, photo) < 1e-6
    # softer than the photo (less power everywhere): free; so is a grey offset (the mean is not a pattern)
    softer = F.avg_pool2d(photo, 3, 1, 1, count_include_pad=False)
    assert losses.spectrum_loss(softer, photo) < 1e-6
    assert losses.spectrum_loss(photo + 0.05, photo) < 1e-6
    # another draw of the same texture differs in every pixel; fine vertical stripes (period 3 px) with a
    # third of that pixel difference cost more, so per unit of pixel difference over three times as much
    other = smooth_texture()
    stripes = photo + 0.02 * torch.cos(2 * torch.pi * torch.arange(64) / 3).view(1, 1, 1, 64)
    assert F.l1_loss(stripes, photo) < F.l1_loss(other, photo) / 3
    assert losses.spectrum_loss(stripes, photo) > losses.spectrum_loss(other, photo)
    assert (losses.spectrum_loss(stripes, photo) / F.l1_loss(stripes, photo)
            > 3 * losses.spectrum_loss(other, photo) / F.l1_loss(other, photo))
    # the same stripes laid horizontally cost the same (both axes' negative frequencies are counted)
    across = photo + 0.02 * torch.cos(2 * torch.pi * torch.arange(64) / 3).view(1, 1, 64, 1)
    assert torch.isclose(losses.spectrum_loss(across, photo), losses.spectrum_loss(stripes, photo), rtol=0.05)
    assert torch.isclose(losses.spectrum_loss(photo.transpose(2, 3), other.transpose(2, 3)),
                         losses.spectrum_loss(photo, other), rtol=1e-4)


def test_texture_loss_asks_for_the_photos_texture_statistics_not_its_pixels() -> None:
    features = losses.RandomFeatures(0, padding_mode="reflect")
    generator = torch.Generator().manual_seed(1)
    # a fine texture: a random 4 x 4 tile repeated
    photo = 0.25 + 0.5 * torch.rand(1, 3, 4, 4, generator=generator).repeat(2, 1, 16, 16)
    assert losses.texture_loss(features, photo, photo) < 1e-6
    # the texture moved by half its period differs in every pixel, yet keeps the statistics; the texture
    # averaged away (what a pixel loss settles on when the phase cannot be known) is closer in pixels:
    # the texture loss ranks them the other way round
    moved = torch.roll(photo, shifts=(2, 2), dims=(2, 3))
    averaged = photo.mean(dim=(2, 3), keepdim=True).expand_as(photo)
    blurred = F.avg_pool2d(photo, 3, 1, 1, count_include_pad=False)
    assert F.l1_loss(averaged, photo) < F.l1_loss(moved, photo) and F.l1_loss(blurred, photo) < F.l1_loss(moved, photo)
    assert losses.texture_loss(features, moved, photo) * 2.5 < losses.texture_loss(features, averaged, photo)
    assert losses.texture_loss(features, moved, photo) * 2 < losses.texture_loss(features, blurred, photo)
    sr = blurred.clone().requires_grad_(True)
    losses.texture_loss(features, sr, photo).backward()
    assert sr.grad is not None and sr.grad.abs().sum() > 0


def test_stage_one_with_the_texture_loss_logs_and_lowers_it(tmp_path: Path) -> None:
    config = tiny_config(tmp_path, texture_weight=1.0, texture_patch=8, steps=40)
    trainer = SRTrainer(config, data=SyntheticCrops())
    first = trainer.train_step()
    for _ in range(39):
        last = trainer.train_step()
    assert {"pixel", "texture", "loss"} <= first.keys()
    assert last["texture"] < first["texture"]
    # it trades PSNR for texture, as a GAN does: the run keeps its latest weights, not the best PSNR
    assert not keeps_best_psnr(trainer.config)


def test_moving_average_of_the_generator_is_what_validates_and_exports(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    config = tiny_config(tmp_path, adversarial="gan", steps=5, ema_decay=0.5, artifact_weight=1.0, chroma_weight=1.0,
                         spectrum_weight=1.0)
    trainer = SRTrainer(config, data=SyntheticCrops())
    assert trainer.generator_ema is not None and trainer.best_module() is trainer.generator_ema
    before = [p.clone() for p in trainer.generator_ema.parameters()]
    row = trainer.train_step()
    assert {"artifacts", "chroma", "spectrum"} <= set(row)
    for old, average, new in zip(before, trainer.generator_ema.parameters(), trainer.generator.parameters(),
                                 strict=True):
        assert torch.allclose(average, 0.5 * old + 0.5 * new, atol=1e-6)  # halfway, at decay 0.5
    trainer.run_dir.mkdir(parents=True)
    path = trainer.export_weights("best.safetensors")
    exported = load_file(path)
    assert all(torch.equal(exported[k], v) for k, v in trainer.generator_ema.state_dict().items())
    assert not all(torch.equal(exported[k], v) for k, v in trainer.generator.state_dict().items())
    with pytest.raises(ValueError, match="ema-decay"):
        SRTrainer(tiny_config(tmp_path / "b", adversarial="gan", artifact_weight=1.0), data=SyntheticCrops())
    with pytest.raises(ValueError, match="adversarial"):  # not silently ignored in the pixel stage
        SRTrainer(tiny_config(tmp_path / "c", chroma_weight=1.0), data=SyntheticCrops())
    with pytest.raises(ValueError, match="adversarial"):
        SRTrainer(tiny_config(tmp_path / "d", spectrum_weight=1.0), data=SyntheticCrops())


def test_the_cli_refuses_to_start_afresh_over_a_run_and_resumes_it_when_asked(tmp_path: Path, capsys) -> None:
    from srdesk.training.cli_train import main

    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.pt").write_bytes(b"a run of many hours")
    assert main(["sr", "--run-dir", str(run), "--steps", "1", "--val-dir", "", "--train-dir", str(tmp_path)]) == 2
    assert "--resume" in capsys.readouterr().err
    assert (run / "checkpoint.pt").read_bytes() == b"a run of many hours"


def test_a_run_that_keeps_its_latest_weights_keeps_every_validated_step_and_ships_any_of_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from safetensors import safe_open
    from safetensors.torch import load_file

    from srdesk.models import registry
    from srdesk.training.export import export

    config = tiny_config(tmp_path, adversarial="gan", steps=6, val_every=3, ema_decay=0.5)
    trainer = SRTrainer(config, data=SyntheticCrops())
    trainer.fit()
    kept = sorted(p.name for p in (trainer.run_dir / "validated").iterdir())
    assert kept == ["step-0000003.safetensors", "step-0000006.safetensors"]
    third = trainer.run_dir / "validated" / kept[0]
    with safe_open(str(third), "pt") as f:
        assert f.metadata()["step"] == "3"
    # the weights at step 3 are not the latest (best.safetensors holds step 6's)
    assert not all(torch.equal(v, load_file(trainer.run_dir / "best.safetensors")[k])
                   for k, v in load_file(third).items())

    monkeypatch.setenv("SRDESK_WEIGHTS_DIR", str(tmp_path / "weights"))
    registry.register(registry.ModelEntry("mini-gan-x4", "learned", "test model", scale=4, weights="mini-gan-x4"))
    try:
        card = json.loads(export(trainer.run_dir, "mini-gan-x4", "test", None, {}, step=3).read_text())
        assert card["training"]["steps_at_export"] == 3
        shipped = load_file(tmp_path / "weights" / card["weights_file"])
        assert all(torch.equal(v, load_file(third)[k]) for k, v in shipped.items())
        with pytest.raises(FileNotFoundError, match="validated steps kept: 3, 6"):
            export(trainer.run_dir, "mini-gan-x4", "test", None, {}, step=4)
    finally:
        registry.unregister("mini-gan-x4")

    psnr_run = SRTrainer(tiny_config(tmp_path / "psnr", steps=3, val_every=3), data=SyntheticCrops())
    psnr_run.fit()
    assert (psnr_run.run_dir / "best.safetensors").exists()
    assert not (psnr_run.run_dir / "validated").exists()  # its best is its best PSNR: nothing else to keep


def test_validation_logs_the_detail_ratio_and_naturalness_beside_psnr(tmp_path: Path) -> None:
    """A GAN run's texture and artefacts show in its log: the detail ratio rises with texture, NIQE with
    artefacts; both on the validation set and the held-out photo crops."""
    from PIL import Image

    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:256, 0:256]
    photo = np.stack([128 + 60 * np.sin(x / 9.0 + c) * np.cos(y / 13.0) for c in range(3)], axis=-1)
    photo = np.clip(photo + rng.normal(0, 12, photo.shape), 0, 255).astype(np.uint8)
    for folder in ("val", "train"):
        (tmp_path / folder).mkdir()
        Image.fromarray(photo).save(tmp_path / folder / "photo.png")
    config = tiny_config(tmp_path, val_dir=str(tmp_path / "val"), train_dir=str(tmp_path / "train"),
                         holdout=["photo.png"], holdout_crop=224)
    trainer = SRTrainer(config, data=SyntheticCrops())
    trainer.run_dir.mkdir(parents=True)
    metrics = trainer._run_validation()  # as fit() validates: modules in eval mode, no gradients
    assert {"psnr", "ssim", "detail", "niqe", "holdout_psnr", "holdout_detail", "holdout_niqe"} <= set(metrics)
    assert 0.0 < metrics["detail"] < 2.0 and 0.0 < metrics["holdout_detail"] < 2.0
    assert np.isfinite(metrics["niqe"]) and np.isfinite(metrics["holdout_niqe"])


@pytest.mark.parametrize("amp", [True, False])
def test_cpu_training_computes_in_bf16_where_the_cpu_has_it_and_in_channels_last(tmp_path: Path, amp: bool) -> None:
    """What the generator's convolutions see during a step: bf16 on a CPU with native bf16 unless --amp false,
    channels-last tensors on the CPU; the weights, the exported file and the losses stay float32."""
    from srdesk.models.registry import cpu_has_native_bf16

    trainer = SRTrainer(tiny_config(tmp_path, amp=amp, adversarial="gan", content_loss="pixel"),
                        data=SyntheticCrops())
    seen: list[tuple[torch.dtype, bool]] = []

    def record(module: torch.nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        seen.append((output.dtype, inputs[0].is_contiguous(memory_format=torch.channels_last)))

    conv = next(m for m in trainer.generator.modules() if isinstance(m, torch.nn.Conv2d))
    conv.register_forward_hook(record)
    numbers = trainer.train_step()
    expected = torch.bfloat16 if amp and cpu_has_native_bf16() else torch.float32
    assert seen and all(dtype == expected and channels_last for dtype, channels_last in seen)
    assert trainer.uses_bf16() == (expected == torch.bfloat16)
    assert all(np.isfinite(v) for v in numbers.values())
    assert all(p.dtype == torch.float32 for p in trainer.generator.parameters())
    # the exported weights are plain float32 tensors that rebuild the same network
    from safetensors.torch import load_file

    from srdesk.training.sr_trainer import build_generator

    exported = load_file(str(trainer.export_weights("weights.safetensors")))
    assert all(t.dtype == torch.float32 and t.is_contiguous() for t in exported.values())
    rebuilt = build_generator(trainer.config)
    rebuilt.load_state_dict(exported)
    lr, _ = SyntheticCrops().batch(2)
    with torch.no_grad():
        assert torch.allclose(rebuilt(lr), trainer.generator(lr), atol=1e-5)


def test_random_features_turned_or_transposed_charge_stripes_the_same_in_either_direction(tmp_path: Path) -> None:
    """Random filters prefer some directions (a generator then draws stripes the loss barely sees); measured on
    both images turned by 90 degrees too, vertical and horizontal stripes cost the same."""
    size = 32
    grey = torch.full((1, 3, size, size), 0.5)
    rows, cols = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32),
                                indexing="ij")

    def cost(features: losses.RandomFeatures, along: torch.Tensor, period: float) -> float:
        """Stripes of 4 levels, averaged over 8 phases (stride-2 pooling sees each phase differently)."""
        total = 0.0
        for phase in np.arange(8) * np.pi / 4:
            stripes = torch.sin(2 * np.pi * along / period + phase) * 4 / 255
            with torch.no_grad():
                total += features(grey + stripes, grey).item()
        return total

    biased, fair = [], []
    for seed in (0, 2):
        plain, turned = losses.RandomFeatures(seed), losses.RandomFeatures(seed, quarter_turn=True)
        for period in (2.7, 4.0, 6.0):
            biased.append(cost(plain, cols, period) / cost(plain, rows, period))
            fair.append(cost(turned, cols, period) / cost(turned, rows, period))
    assert max(abs(r - 1) for r in biased) > 0.1
    assert max(abs(r - 1) for r in fair) < 0.01
    # transposed, a stripe pattern and the same pattern turned cost exactly the same at any one phase
    transposed = losses.RandomFeatures(0, transpose=True)
    for phase in (0.0, 1.0):
        stripes = torch.sin(2 * np.pi * cols / 2.7 + phase) * 4 / 255
        with torch.no_grad():
            across, down = transposed(grey + stripes, grey).item(), transposed(grey + stripes.T, grey).item()
        assert abs(across / down - 1) < 1e-4
    trainer = SRTrainer(tiny_config(tmp_path, adversarial="gan", content_loss="random-features",
                                    features_quarter_turn=True), data=SyntheticCrops())
    assert trainer.perceptual is not None and trainer.perceptual.quarter_turn
    assert np.isfinite(trainer.train_step()["content"])


def test_a_wider_span_starts_from_a_narrower_runs_weights_with_the_same_output(tmp_path: Path) -> None:
    """--init-from a narrower SPAN's weights (--channels larger): the run starts where those weights were."""
    narrow = SRTrainer(tiny_config(tmp_path / "a", arch="span", blocks=2, channels=6, amp=False),
                       data=SyntheticCrops())
    for _ in range(3):
        narrow.train_step()
    weights = narrow.export_weights("narrow.safetensors")
    wide = SRTrainer(tiny_config(tmp_path / "b", arch="span", blocks=2, channels=10, amp=False,
                                 init_from=str(weights)), data=SyntheticCrops())
    assert "widened" in wide.init_report
    lr, _ = SyntheticCrops().batch(2)
    with torch.no_grad():
        torch.testing.assert_close(wide.generator(lr), narrow.generator(lr), rtol=1e-4, atol=1e-5)
    import dataclasses

    from srdesk.training.export import continued_from

    assert "widened from its 6 channels to 10" in continued_from(dataclasses.asdict(wide.config))


def test_a_two_pass_span_starts_from_two_single_pass_networks_and_trains_both(tmp_path: Path) -> None:
    """--second-pass with --init-from (the first pass) and --init-second-from (the second): the run starts as
    the first network's result reduced and enlarged by the second, and the loss moves both."""
    from srdesk.models.span import BicubicReduce

    runs = []
    for name in ("first", "second"):
        trainer = SRTrainer(tiny_config(tmp_path / name, arch="span", blocks=2, channels=6, amp=False),
                            data=SyntheticCrops())
        trainer.train_step()
        runs.append((trainer.generator, trainer.export_weights(f"{name}.safetensors")))
    two = SRTrainer(tiny_config(tmp_path / "two", arch="span", blocks=2, channels=6, amp=False, second_pass=True,
                                init_from=str(runs[0][1]), init_second_from=str(runs[1][1])), data=SyntheticCrops())
    assert two.config.architecture()["second_pass"] is True
    assert "second pass" in two.init_report
    import dataclasses

    from srdesk.training.export import continued_from

    assert f"; its second pass from {runs[1][1]} (sha256 " in continued_from(dataclasses.asdict(two.config))
    lr, _ = SyntheticCrops().batch(2)
    with torch.no_grad():
        expected = runs[1][0](BicubicReduce(4)(runs[0][0](lr).clamp(0, 1)))
        torch.testing.assert_close(two.generator(lr), expected, rtol=1e-4, atol=1e-5)
    before = {k: v.clone() for k, v in two.generator.state_dict().items()}
    two.train_step()
    after = two.generator.state_dict()
    assert not torch.equal(after["head.weight"], before["head.weight"])
    assert not torch.equal(after["second.head.weight"], before["second.head.weight"])
    with pytest.raises(ValueError, match="second-pass"):
        SRTrainer(tiny_config(tmp_path / "bad", arch="span", blocks=2, channels=6, amp=False,
                              init_second_from=str(runs[1][1])), data=SyntheticCrops())


def test_a_teacher_chain_is_what_the_pixel_loss_aims_at_and_the_student_learns_it(tmp_path: Path) -> None:
    """--teacher photo-x2,photo-crisp-x2 at x4: the target is the two installed x2 models run one after the other
    on the input (not the photo), the loss leaves out the border where the teacher saw the crop's edge, and the
    student moves towards the teacher's result."""
    from srdesk.models import registry
    from srdesk.training.export import sr_data_description

    config = tiny_config(tmp_path / "t", arch="span", blocks=2, channels=8, amp=False, crop=64,
                         teacher=["photo-x2", "photo-crisp-x2"], teacher_margin=8)
    data = SyntheticCrops(size=64)
    student = SRTrainer(config, data=data)
    lr, hr = data.lr[:2], data.hr[:2]
    first, second = (registry.load(n, "cpu", "exact") for n in ("photo-x2", "photo-crisp-x2"))
    with torch.no_grad():
        expected = second.module(first.module(lr).clamp(0, 1)).clamp(0, 1)
        torch.testing.assert_close(student._target(lr, hr), expected)
        assert float((expected - hr).abs().mean()) > 1e-3  # not the photo

    plain = SRTrainer(tiny_config(tmp_path / "p", arch="span", blocks=2, channels=8, amp=False, crop=64),
                      data=SyntheticCrops(size=64))
    probe = SyntheticCrops(size=64, seed=1).lr
    with torch.no_grad():
        aim = second.module(first.module(probe).clamp(0, 1)).clamp(0, 1)

    def distance(trainer: SRTrainer) -> float:
        with torch.no_grad():
            return float((trainer.generator(probe) - aim).pow(2)[..., 8:-8, 8:-8].mean())

    before = distance(student)
    for trainer in (student, plain):
        torch.manual_seed(0)
        for _ in range(40):
            trainer.train_step()
    assert distance(student) < 0.8 * before
    assert distance(student) < distance(plain)  # nearer the teacher's result than a run aimed at the photos
    assert not keeps_best_psnr(config)  # validated against the photos: the run keeps its latest weights
    import dataclasses

    digests = [registry.get(n).card().sha256[:16] for n in ("photo-x2", "photo-crisp-x2")]
    assert (f"photo-x2 (sha256 {digests[0]}...) then photo-crisp-x2 (sha256 {digests[1]}...)"
            in sr_data_description(dataclasses.asdict(config)))  # the card says which weights taught it
    with pytest.raises(ValueError, match="enlarges x2, the run x4"):
        SRTrainer(tiny_config(tmp_path / "s", teacher=["photo-x2"]), data=SyntheticCrops())
    with pytest.raises(ValueError, match="without --adversarial"):
        SRTrainer(tiny_config(tmp_path / "g", teacher=["photo-x2", "photo-x2"], sharpen_weight=1.0),
                  data=SyntheticCrops())


class GrainyCrops(SyntheticCrops):
    """Smooth colour fields with a fine grain that the reduction removes: texture the input no longer shows."""

    def __init__(self, size: int = 32, scale: int = 4, seed: int = 0, pool: int = 8) -> None:
        super().__init__(size, scale, seed, pool)
        gen = torch.Generator().manual_seed(seed + 100)
        grain = torch.randn(pool, 1, size, size, generator=gen) * 0.08
        self.hr = (self.hr + grain).clamp(0, 1)
        self.lr = degrade_bicubic(self.hr, bicubic_downsampler(size, scale))


def test_a_texture_head_trains_alone_over_the_frozen_network_on_the_texture_loss(tmp_path: Path) -> None:
    """--texture-only: from a PSNR run's weights, only the head learns (the network stays as it was, so strength 0
    gives it back exactly), driven by the texture loss alone; the pixel loss is logged, and the texture drawn
    grows from its small start. The card's architecture names the head, so srdesk builds it."""
    base = SRTrainer(tiny_config(tmp_path / "a", arch="span", blocks=2, channels=8, amp=False), data=SyntheticCrops())
    for _ in range(3):
        base.train_step()
    weights = base.export_weights("base.safetensors")
    config = tiny_config(tmp_path / "b", arch="span", blocks=2, channels=8, amp=False, init_from=str(weights),
                         texture_head=4, texture_hidden=8, texture_only=True, texture_weight=1.0, texture_patch=8,
                         steps=30)
    trainer = SRTrainer(config, data=GrainyCrops(seed=1))
    generator = trainer.generator
    assert isinstance(generator, torch.nn.Module) and generator.texture is not None
    before = {k: v.clone() for k, v in generator.state_dict().items()}
    lr, _ = GrainyCrops(seed=2).batch(2)

    def drawn() -> float:
        generator.eval()
        with torch.no_grad():
            out = generator(lr)
            generator.texture.strength = 0.0
            plain = generator(lr)
            generator.texture.strength = 1.0
        torch.testing.assert_close(plain, base.generator.eval()(lr), rtol=0, atol=0)
        generator.train()
        return float((out - plain).abs().mean())

    start = drawn()
    logs = [trainer.train_step() for _ in range(30)]
    assert all(set(log) == {"pixel", "texture", "loss"} and log["loss"] == log["texture"] for log in logs)
    after = generator.state_dict()
    changed = {k for k in after if not torch.equal(after[k], before[k])}
    assert changed and all(k.startswith("texture.") for k in changed)
    assert drawn() > start  # the frozen network still gives strength 0 exactly (checked inside)
    params = trainer.config.architecture()
    assert params["texture"] == 4 and params["texture_hidden"] == 8
    with pytest.raises(ValueError, match="texture-only"):
        SRTrainer(tiny_config(tmp_path / "c", arch="span", blocks=2, texture_only=True, texture_weight=1.0),
                  data=SyntheticCrops())
