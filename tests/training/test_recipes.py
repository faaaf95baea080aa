"""GPU recipes, tried on the CPU with a few steps: pack, train in time-limited calls, resume from parts."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srdesk.training import recipes


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        base = rng.random((20, 30, 3))
        image = np.kron(base, np.ones((16, 16, 1)))  # 320 x 480, smooth blocks
        Image.fromarray((image * 255).astype(np.uint8)).save(folder / f"p{i}.jpg", quality=95)
    bench = tmp_path / "benchmarks" / "Set5"
    bench.mkdir(parents=True)
    Image.fromarray((rng.random((48, 48, 3)) * 255).astype(np.uint8)).save(bench / "a.png")
    return folder


def test_pack_crops_every_photo_to_the_budget_and_copies_set5(photos: Path, tmp_path: Path) -> None:
    full = sum(p.stat().st_size for p in photos.iterdir())
    manifest = recipes.pack(photos, tmp_path / "benchmarks", tmp_path / "pack", budget_mb=full * 0.5 / 2**20)
    packed = sorted((tmp_path / "pack" / "photos").iterdir())
    assert [p.name for p in packed] == ["p0.jpg", "p1.jpg", "p2.jpg"]
    for p in packed:
        with Image.open(p) as im:
            assert im.size[0] % 16 == 0 and im.size[1] % 16 == 0 and im.size[0] < 480
    assert (tmp_path / "pack" / "Set5" / "a.png").exists()
    assert manifest["photos"] == 3 and json.loads((tmp_path / "pack" / "manifest.json").read_text())["photos"] == 3


def test_split_and_join_give_back_the_same_bytes(tmp_path: Path) -> None:
    data = np.random.default_rng(1).bytes(2500)
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(data)
    parts = recipes.split_file(path, part_bytes=1000)
    assert [p.name for p in parts] == ["checkpoint.pt.part0", "checkpoint.pt.part1", "checkpoint.pt.part2"]
    assert not path.exists() and all(p.stat().st_size <= 1000 for p in parts)
    assert recipes.join_parts(path) and path.read_bytes() == data


def test_recipe_trains_in_limited_calls_and_resumes_from_its_parts(photos: Path, tmp_path: Path) -> None:
    recipes.pack(photos, tmp_path / "benchmarks", tmp_path / "pack")
    small = {"blocks": 2, "channels": 8, "crop": 32, "batch_size": 2, "data_workers": 2, "init_from": "",
             "val_every": 2, "checkpoint_every": 100, "log_every": 1, "device": "cpu", "degradation_strength": 0.3}
    first = recipes.run_recipe("photo-x4", tmp_path / "pack", tmp_path / "runs", minutes=5, steps=2, **small)
    assert first == 2
    run = tmp_path / "runs" / "photo-x4"
    assert (run / "best.safetensors").exists() and (run / "checkpoint.pt.part0").exists()
    assert not (run / "checkpoint.pt").exists()
    second = recipes.run_recipe("photo-x4", tmp_path / "pack", tmp_path / "runs", minutes=5, steps=4, **small)
    assert second == 4
    rows = (run / "log.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3", "4"]
    # a zero-minute budget stops at once, with the checkpoint intact
    assert recipes.run_recipe("photo-x4", tmp_path / "pack", tmp_path / "runs", minutes=1e-9, steps=10,
                              **small) == 4


def test_the_gan_recipe_takes_the_papers_stage_two_settings(tmp_path: Path) -> None:
    config = recipes.recipe_config("photo-gan-x4", tmp_path / "pack", tmp_path / "runs", minutes=1)
    assert config.adversarial == "gan" and config.discriminator == "patch"
    assert config.arch == "span" and config.init_from == "weights/photo-crisp-x4.safetensors"
    assert config.d_antialias and config.sharpen_weight == 0.0  # no pixel grid; the photos as targets
    assert config.d_cells  # the discriminator sees the generator's output cells: no mosaic of them
    assert config.features_quarter_turn  # the content loss has no preferred direction of stripes
    assert config.val_every < config.checkpoint_every  # validated weights kept more often than the checkpoint
    assert config.ema_decay == 0.999 and config.artifact_weight > 0  # LDL: artefacts against the moving average
    assert recipes.recipe_config("photo-x2", tmp_path / "pack", tmp_path / "runs", minutes=1).scale == 2


def test_a_schedule_fitted_to_the_call_decays_by_its_end_and_restarts_in_the_next(
        photos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recipes.pack(photos, tmp_path / "benchmarks", tmp_path / "pack")
    # a clock that moves only when read (0.5 ms a reading): the budget is spent by the steps, not by how busy
    # the machine happens to be, so the call's shape is the same everywhere
    now = [time.time()]

    def clock() -> float:
        now[0] += 5e-4
        return now[0]

    monkeypatch.setattr(time, "time", clock)
    small = {"blocks": 2, "channels": 4, "crop": 16, "batch_size": 1, "data_workers": 0, "init_from": "",
             "val_every": 0, "checkpoint_every": 10**6, "log_every": 1, "device": "cpu", "lr": 1e-3, "lr_min": 0.0,
             "threads": 1}  # this tiny network's bf16 steps on two threads crawl when the other core is busy
    run = tmp_path / "runs" / "photo-x4"

    def rates() -> list[tuple[int, float]]:
        import csv

        with open(run / "log.csv", newline="") as f:
            return [(int(r["step"]), float(r["lr"])) for r in csv.DictReader(f)]

    first = recipes.run_recipe("photo-x4", tmp_path / "pack", tmp_path / "runs", minutes=0.01, fit_to_time=True,
                               **small)
    assert first > 200  # the probe's 200 steps, then the fitted schedule
    config = json.loads((run / "config.json").read_text())
    assert config["schedule_start"] == 0 and config["steps"] >= first  # the call ended by time or at the end
    assert first >= 200 + 0.6 * (config["steps"] - 200)  # ...and the schedule fitted the time it had
    logged = rates()
    assert logged[0][1] == pytest.approx(1e-3) and logged[-1][1] < 0.5e-3  # decayed towards its end
    assert (run / "latest.safetensors").exists() and (run / "checkpoint.pt.part0").exists()
    second = recipes.run_recipe("photo-x4", tmp_path / "pack", tmp_path / "runs", minutes=0.007, fit_to_time=True,
                                **small)
    assert second > first
    assert json.loads((run / "config.json").read_text())["schedule_start"] == first
    restarted = dict(rates())
    assert restarted[first + 1] == pytest.approx(1e-3)  # a warm restart: the full rate again
