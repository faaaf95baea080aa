"""Ship a trained run: copy its best weights into weights/ with a measured model card.

    srdesk-cli train export --run-dir runs/srresnet-x4 --name srresnet-x4 [--benchmarks DIR]

The card records the architecture (the registry builds the model from it),
the training configuration and steps, the sha256 that srdesk checks before
loading, and Y-PSNR/SSIM at x4 on Set5, Set14 and BSD68 next to bicubic,
measured with the same protocol as `srdesk-cli eval`.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

from safetensors import safe_open

from srdesk.core import pipeline
from srdesk.core.evaluate import benchmark_files, evaluate
from srdesk.models import registry
from srdesk.models.weights import sha256_of, weights_dir

DATASETS = ("Set5", "Set14", "BSD68")


def measure(model: str, benchmarks: Path, scale: int = 4) -> dict[str, dict[str, float]]:
    upscaler = pipeline.get_upscaler(model, "auto")
    results = {}
    for dataset in DATASETS:
        folder = benchmarks / dataset
        if folder.is_dir():
            r = evaluate(lambda lr, s: pipeline.enhance(lr, upscaler, s).pixels, benchmark_files(folder), scale,
                         dataset)
            results[dataset] = {"psnr": round(r.mean_psnr, 3), "ssim": round(r.mean_ssim, 4)}
    return results


def last_log_row(run_dir: Path) -> dict[str, str]:
    path = run_dir / "log.csv"
    if not path.exists():
        return {}
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return rows[-1] if rows else {}


def export(run_dir: Path, name: str, description: str, benchmarks: Path | None, extra: dict[str, Any]) -> Path:
    config = json.loads((run_dir / "config.json").read_text())
    source = run_dir / "best.safetensors"
    with safe_open(str(source), "pt") as f:
        meta = f.metadata() or {}
    folder = weights_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.safetensors"
    shutil.copyfile(source, target)
    from srdesk.training.sr_trainer import SRConfig

    architecture = SRConfig(**config).architecture()
    card: dict[str, Any] = {
        "name": name,
        "description": description,
        "weights_file": target.name,
        "sha256": sha256_of(target),
        "architecture": architecture,
        "fp16_safe": False,
        "licence": "MIT (weights trained by the srdesk project)",
        "training": {
            "data": "118 photographs from ../shared/data/train/photos (Debian wallpaper packages; CC0, CC-BY, "
                    "CC-BY-SA, GPL, BSD, LGPL, see its SOURCE.md), 4 held out; 96 px HR crops, 8 flips/rotations, "
                    "LR by MATLAB-compatible bicubic x4, 8-bit",
            "steps_at_export": int(meta.get("step", 0)),
            "validation_psnr_set5_at_export": float(meta.get("score", "nan")),
            "config": config,
            "exported": date.today().isoformat(),
        },
        **extra,
    }
    (folder / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")
    if benchmarks is not None:
        pipeline.clear_model_cache()
        card["metrics"] = measure(name, benchmarks)
        card["metrics_bicubic"] = measure("bicubic", benchmarks)
        card["metrics_protocol"] = ("x4, MATLAB bicubic reduction, Y channel (BT.601), 4 px border shaved; "
                                    "srdesk-cli eval")
        (folder / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")
    registry.get(name)  # the registry must know the name to serve it
    return folder / f"{name}.json"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="srdesk-cli train export")
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--description", default="")
    parser.add_argument("--benchmarks", type=Path, default=None, help="folder with Set5/Set14/BSD68")
    args = parser.parse_args(argv)
    entry = registry.get(args.name)
    card = export(args.run_dir, args.name, args.description or entry.description, args.benchmarks, {})
    print(card.read_text())
    return 0
