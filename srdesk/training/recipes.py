"""Ready-made training runs for a borrowed GPU: pack the data here, train there in short calls, resume.

A GPU is lent in short calls (minutes), to a bare machine that can reach
nothing, with a small limit on what travels each way. So:

    srdesk-cli train pack --out .gpu-data            # here: photos (lossless JPEG crops) + Set5, <= 24 MB
    bench/gpu_train.sh photo-x4 .gpu-data .gpu-runs 8  # there: train <= 8 min, bf16 autocast, resume if possible
    srdesk-cli train export --run-dir .gpu-runs/photo-x4 --name ...  # here: card measured on the CPU

Each call resumes from the run folder's checkpoint (kept as parts of at most
15 MB, so they come back through the file limit) and leaves the best weights,
the log and the config beside it. What travels to the machine is limited
(64 MiB): the repository (~19 MB) + the pack (~22 MB) + a checkpoint
(SPAN 48x6: ~5 MB with Adam moments; SRResNet 16x64: ~18 MB) fit; carry only the checkpoint
parts and config of a run back, not its older exported weights. Recipes name everything a run needs, so the
first minutes of a GPU go to training, not to setting up.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

_SPAN = {"arch": "span", "blocks": 6, "channels": 48}
_REAL = {"degradation": "real", "degradation_strength": 0.5, "clean_prob": 0.3, "camera_prob": 0.7,
         "val_degradation": "real"}
_MSE_EMA = {"pixel_loss": "mse", "ema_decay": 0.999}
# Half the crops from the photos reduced by 0.4-1 first (Real-ESRGAN's multi-scale data): on the CPU it gained
# +0.02-0.03 dB (real Set5 / Set14 / BSD68) and +0.03-0.08 (clean) in 16,000 steps where photo-x4 and clean-x4
# had stopped gaining without it.
_MULTISCALE = {"rescale_prob": 0.5, "rescale_min": 0.4}
_GPU = {"checkpoint_every": 1000, "val_every": 1000, "log_every": 100, "data_workers": 12, "amp": True}

RECIPES: dict[str, dict[str, Any]] = {
    # The PSNR-oriented photo models for real inputs (SPAN-style 48x6, the shipped architecture), realistic
    # degradations (30 % clean, 70 % of the rest by the camera path, the rest by Real-ESRGAN's pipeline at 0.5
    # strength: the shipped models' mix), continued from the shipped weights. An MSE loss with a moving average
    # of the weights (exported): on the CPU it gained +0.06 dB (Set5 real) in 12,000 steps from where L1 had
    # stopped gaining (+0.006 in 4,000), and photo-x4 has been trained so since; the rate is below the L1
    # recipe's 5e-4 (its first GPU calls) because the run starts from weights already tuned with MSE.
    "photo-x4": {"kind": "sr", "scale": 4, "crop": 256, "batch_size": 64, "lr": 2e-4, "steps": 200_000,
                 "init_from": "weights/photo-x4.safetensors", **_SPAN, **_REAL, **_MSE_EMA, **_MULTISCALE, **_GPU},
    "photo-x2": {"kind": "sr", "scale": 2, "crop": 192, "batch_size": 64, "lr": 2e-4, "steps": 200_000,
                 "init_from": "weights/photo-x2.safetensors", **_SPAN, **_REAL, **_MSE_EMA, **_MULTISCALE, **_GPU},
    # The GAN photo model (Real-ESRGAN's stage 2): L1 + generic perceptual loss (a fixed random deep CNN; no
    # ImageNet weights here) aimed at the photos themselves, from photo-crisp-x4, + the blur-pooled patch
    # discriminator (the spectral-norm U-Net stayed at chance for 2,600 GPU steps; this one starts within ~700
    # CPU steps), LDL's artefact loss against the generator's moving average and a chroma L1 (the CPU runs'
    # dotted patterns and coloured fringes); the moving average is what is exported. Aimed at sharpened photos
    # (sigma 2, weight 2) the CPU runs mottled skin within 1,000-2,500 steps; aimed at the photos they stayed
    # clean for ~2,500 steps before a blocky mosaic grew (NIQE, now logged at each validation, rose with it),
    # so every validation's weights are kept (validated/) to ship the last clean step. The mosaic's cells are
    # the generator's output cells; the discriminator's cell view (d_cells) kept it away on the CPU (cell
    # edges 1.10-1.13 at 2,000-2,500 steps against 1.22-1.28 without), NIQE the lowest of any x4 model, at
    # less detail (0.52 / 0.42 Set14 / BSD68 real at GAN 0.1). Detail strength then blends it with photo-x4.
    # The random-features loss is also measured on the images turned by 90 degrees: its random filters charged
    # vertical stripes less than horizontal ones, and the CPU runs' stripes grew vertical; without the bias
    # they grew about half as fast (spectral rise at 3,000 steps 3.89 -> 1.97 turned, 2.49 transposed).
    "photo-gan-x4": {"kind": "sr", "scale": 4, "crop": 256, "batch_size": 32, "lr": 1e-4, "d_lr": 1e-4,
                     "steps": 100_000, "init_from": "weights/photo-crisp-x4.safetensors", "adversarial": "gan",
                     "discriminator": "patch", "d_antialias": True, "d_cells": True,
                     "content_loss": "random-features", "features_quarter_turn": True,
                     "pixel_weight": 1.0, "adv_weight": 0.1, "ema_decay": 0.999, "artifact_weight": 10.0,
                     "chroma_weight": 1.0, **_SPAN, **_REAL, **_GPU, "val_every": 500},
}
PART_BYTES = 15 * 1024 * 1024
HOLDOUT_NAMES = "holdout.txt"


# -- data pack ----------------------------------------------------------------------------------


def _crop_jpeg(source: Path, target: Path, box: tuple[int, int, int, int]) -> None:
    """Crop a JPEG without re-encoding (jpegtran, on whole 16 px blocks) where possible, else at quality 95."""
    left, top, width, height = box
    jpegtran = shutil.which("jpegtran")
    if jpegtran and source.suffix.lower() in (".jpg", ".jpeg"):
        subprocess.run([jpegtran, "-copy", "none", "-crop", f"{width}x{height}+{left}+{top}", "-outfile",
                        str(target), str(source)], check=True)
        return
    from PIL import Image

    with Image.open(source) as im:
        im.convert("RGB").crop((left, top, left + width, top + height)).save(target, quality=95, subsampling=0)


def pack(photos: Path, benchmarks: Path, out: Path, budget_mb: float = 22.0, seed: int = 0) -> dict[str, Any]:
    """Training photos cropped to fit ``budget_mb`` (the same share of every photo, at a random place),
    the held-out photos left out, plus Set5 for validation."""
    from PIL import Image

    from srdesk.training.data import list_images
    from srdesk.training.sr_trainer import DEFAULT_HOLDOUT

    sources = [p for p in list_images(photos) if p.name not in DEFAULT_HOLDOUT]
    total = sum(p.stat().st_size for p in sources)
    share = min(1.0, budget_mb * 1024 * 1024 / max(1, total))
    side = float(np.sqrt(share))
    rng = np.random.default_rng(seed)
    (out / "photos").mkdir(parents=True, exist_ok=True)
    pixels = 0
    for path in sources:
        with Image.open(path) as im:
            width, height = im.size
        w, h = max(256, int(width * side)) // 16 * 16, max(256, int(height * side)) // 16 * 16
        w, h = min(w, width // 16 * 16), min(h, height // 16 * 16)
        left = int(rng.integers(0, (width - w) // 16 + 1)) * 16
        top = int(rng.integers(0, (height - h) // 16 + 1)) * 16
        _crop_jpeg(path, out / "photos" / path.name, (left, top, w, h))
        pixels += w * h
    if (benchmarks / "Set5").is_dir():
        shutil.copytree(benchmarks / "Set5", out / "Set5", dirs_exist_ok=True)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    manifest = {"photos": len(sources), "megapixels": round(pixels / 1e6, 1), "share_of_each_photo": round(share, 3),
                "bytes": size, "held_out": list(DEFAULT_HOLDOUT)}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


# -- checkpoint parts -----------------------------------------------------------------------------


def split_file(path: Path, part_bytes: int = PART_BYTES) -> list[Path]:
    """``path`` as ``path.part0``, ``path.part1``... of at most ``part_bytes``; the file itself is removed."""
    for old in path.parent.glob(path.name + ".part*"):
        old.unlink()
    parts: list[Path] = []
    with open(path, "rb") as f:
        while chunk := f.read(part_bytes):
            part = path.with_name(f"{path.name}.part{len(parts)}")
            part.write_bytes(chunk)
            parts.append(part)
    path.unlink()
    return parts


def join_parts(path: Path) -> bool:
    """Rebuild ``path`` from its parts, if there are any."""
    parts = sorted(path.parent.glob(path.name + ".part*"), key=lambda p: int(p.suffix.removeprefix(".part")))
    if not parts:
        return False
    with open(path, "wb") as f:
        for part in parts:
            f.write(part.read_bytes())
    return True


# -- running ----------------------------------------------------------------------------------------


def recipe_config(name: str, data: Path, out: Path, minutes: float, **overrides: Any) -> Any:
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; recipes: {', '.join(RECIPES)}")
    from srdesk.training.sr_trainer import SRConfig

    values = {k: v for k, v in RECIPES[name].items() if k != "kind"}
    values.update(run_dir=str(out / name), train_dir=str(data / "photos"), val_dir=str(data / "Set5"),
                  holdout=[], max_minutes=minutes)
    values.update(overrides)
    from srdesk.training.sr_trainer import apply_stage2_defaults

    return apply_stage2_defaults(SRConfig(**values))


def run_recipe(name: str, data: Path, out: Path, minutes: float, fit_to_time: bool = False,
               **overrides: Any) -> int:
    """Train recipe ``name`` for at most ``minutes``, resuming from ``out/name``; returns the step reached.

    With ``fit_to_time`` the learning-rate schedule is fitted to the call: after a short warm-up the
    speed is measured and the schedule's length set to the steps that fit in the time left, so the
    cosine decay ends with the call instead of a long schedule being cut off at its peak rate. (A later
    call fits a new cycle from where this one stopped: a warm restart.)
    """
    import time

    from srdesk.training.sr_trainer import SRTrainer

    began = time.time()
    config = recipe_config(name, data, out, minutes, **overrides)
    run_dir = Path(config.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = run_dir / SRTrainer.checkpoint_name
    join_parts(checkpoint)
    trainer = SRTrainer(config)  # (init_from stays in the config as the run's origin; a checkpoint overrides it)
    if trainer.resume():
        print(f"resumed {name} at step {trainer.step}", flush=True)

    def show(row: dict[str, Any]) -> None:
        print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)

    if fit_to_time and minutes > 0:
        def minutes_left() -> float:
            return max(1e-6, minutes - (time.time() - began) / 60)  # (0 would mean no limit)

        first = config.schedule_start = trainer.step
        config.steps = first + 10**9  # the probe runs at the schedule's start (the peak rate after warm-up)
        config.max_minutes = minutes_left()
        trainer.fit(on_log=show, until_step=first + 50)  # warm-up: data threads, cuDNN autotuning
        timed_from, timed_step = time.time(), trainer.step
        config.max_minutes = minutes_left()
        trainer.fit(on_log=show, until_step=timed_step + 150)
        rate = (trainer.step - timed_step) / max(1e-6, time.time() - timed_from)
        config.max_minutes = minutes_left()
        config.steps = trainer.step + int(rate * config.max_minutes * 60 * 0.97)
        print(f"{name}: {rate:.2f} steps/s; schedule fitted to end at step {config.steps}", flush=True)
        trainer.fit(on_log=show)
    else:
        trainer.fit(on_log=show)  # (each fit ends with a checkpoint)
    trainer.export_weights("latest.safetensors")
    split_file(checkpoint)
    print(f"{name}: stopped at step {trainer.step}; run folder {run_dir}", flush=True)
    return trainer.step


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="srdesk-cli train", description="GPU recipes: pack data, run a recipe.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack", help="pack training photos + Set5 for a GPU machine")
    p.add_argument("--photos", type=Path, default=Path("../shared/data/train/photos"))
    p.add_argument("--benchmarks", type=Path, default=Path("../shared/data/benchmarks"))
    p.add_argument("--out", type=Path, default=Path(".gpu-data"))
    p.add_argument("--budget-mb", type=float, default=22.0)
    r = sub.add_parser("recipe", help="train a recipe for a limited time, resuming")
    r.add_argument("name", choices=sorted(RECIPES))
    r.add_argument("--data", type=Path, default=Path(".gpu-data"))
    r.add_argument("--out", type=Path, default=Path(".gpu-runs"))
    r.add_argument("--minutes", type=float, default=8.0)
    r.add_argument("--steps", type=int, default=None, help="override the recipe's total steps")
    r.add_argument("--batch-size", type=int, default=None)
    r.add_argument("--device", default="auto")
    r.add_argument("--workers", type=int, default=None, help="processes preparing batches (recipe: 12)")
    r.add_argument("--threads", type=int, default=None, help="torch threads (each data thread's own ops too)")
    r.add_argument("--fit-to-time", action="store_true",
                   help="fit the learning-rate schedule to --minutes (measured speed) instead of --steps")
    args = parser.parse_args(argv)
    if args.command == "pack":
        print(json.dumps(pack(args.photos, args.benchmarks, args.out, args.budget_mb), indent=2))
        return 0
    overrides = {k: v for k, v in (("steps", args.steps), ("batch_size", args.batch_size),
                                   ("data_workers", args.workers), ("threads", args.threads)) if v is not None}
    run_recipe(args.name, args.data, args.out, args.minutes, fit_to_time=args.fit_to_time, device=args.device,
               **overrides)
    return 0


if __name__ == "__main__":
    sys.exit(main())
