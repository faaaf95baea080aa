"""The user's own models folder: add and remove ncnn models, and keep their measured quality beside them.

A model is a ``NAME.param`` + ``NAME.bin`` pair (Upscayl's custom-model format); ``srdesk-cli eval``
on an added model writes ``NAME.card.json`` there, so the method list shows its measured numbers as
it does for srdesk's own models.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from srdesk.core.errors import InvalidParameter, SrdeskError
from srdesk.models.ncnn_model import parse_param

PYTORCH_SUFFIXES = (".pth", ".pt", ".safetensors", ".ckpt")


def add(folder: Path, param: Path) -> str:
    """Copy ``param`` and the ``.bin`` beside it into ``folder``; returns the model's name."""
    param = Path(param)
    if param.suffix.lower() in PYTORCH_SUFFIXES:
        raise InvalidParameter(f"{param.name}: PyTorch community models are not supported yet; srdesk runs ncnn "
                               ".param/.bin pairs (as in Upscayl's custom models folder)")
    parse_param(param)
    weights = param.with_suffix(".bin")
    if not weights.exists():
        raise SrdeskError(f"{param.name}: its weights {weights.name} are not beside it")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / param.name
    if target.exists() and target.resolve() != param.resolve():
        raise SrdeskError(f"{param.name}: a model of that name is already added; remove it first")
    if target.resolve() != param.resolve():
        shutil.copyfile(weights, folder / weights.name)
        shutil.copyfile(param, target)
    return param.stem


def remove(folder: Path, name: str) -> None:
    files = [folder / f"{name}.param", folder / f"{name}.bin", folder / f"{name}.card.json"]
    if not files[0].exists():
        raise SrdeskError(f"no added model named {name!r} in {folder}")
    for f in files:
        f.unlink(missing_ok=True)


def card_file(param: Path) -> Path:
    return Path(param).with_suffix(".card.json")


def read_measurements(param: Path) -> dict[str, Any]:
    try:
        return json.loads(card_file(param).read_text())
    except (OSError, ValueError):
        return {}


def save_measurement(param: Path, dataset: str, degradation: str, scale: int, psnr: float, ssim: float,
                     detail: float, niqe: float) -> Path:
    """Record one ``srdesk-cli eval`` result in the added model's card (same protocol as srdesk's cards)."""
    card = read_measurements(param)
    key = "metrics" if degradation == "clean" else f"metrics_{degradation}"
    card.setdefault(key, {})[dataset] = {"psnr": round(psnr, 3), "ssim": round(ssim, 4), "detail": round(detail, 3),
                                         "niqe": round(niqe, 3), "scale": scale}
    card["metrics_protocol"] = "srdesk-cli eval (see srdesk's model cards)"
    path = card_file(param)
    path.write_text(json.dumps(card, indent=2) + "\n")
    return path
