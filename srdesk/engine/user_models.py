"""The user's own models folder: add and remove models, and keep their measured quality beside them.

A model is a ``NAME.param`` + ``NAME.bin`` pair (Upscayl's custom-model format) or one PyTorch file
(``NAME.safetensors`` / ``.pth``, the community's format, run through spandrel); ``srdesk-cli eval`` on
an added model writes ``NAME.card.json`` there, so the method list shows its measured numbers as it
does for srdesk's own models.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from srdesk.core.errors import InvalidParameter, SrdeskError
from srdesk.models.community import PYTORCH_SUFFIXES
from srdesk.models.ncnn_model import parse_param
from srdesk.models.registry import USER_MODEL_SUFFIXES as MODEL_SUFFIXES


def _model_files(folder: Path, name: str) -> list[Path]:
    return [folder / f"{name}{suffix}" for suffix in (*MODEL_SUFFIXES, ".bin")]


def add(folder: Path, param: Path) -> str:
    """Copy a model into ``folder`` (an ncnn ``.param`` with the ``.bin`` beside it, or a PyTorch file,
    checked first: read as data only, recognised, a super-resolution model); returns its name."""
    param = Path(param)
    suffix = param.suffix.lower()
    if suffix in PYTORCH_SUFFIXES:
        from srdesk.models.community import load_file

        load_file(param)  # refuses unsafe, unknown and non-SR files with a message
        return _copy_in(folder, param, [])
    if suffix != ".param":
        raise InvalidParameter(f"{param.name}: srdesk adds ncnn .param/.bin pairs and PyTorch "
                               f"{'/'.join(PYTORCH_SUFFIXES)} files")
    parse_param(param)
    weights = param.with_suffix(".bin")
    if not weights.exists():
        raise SrdeskError(f"{param.name}: its weights {weights.name} are not beside it")
    return _copy_in(folder, param, [weights])


def _copy_in(folder: Path, model: Path, companions: list[Path]) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    name = model.stem
    target = folder / model.name
    if target.exists() and target.resolve() == model.resolve():
        return name  # already in the folder
    if any(f.exists() for f in _model_files(folder, name)):
        raise SrdeskError(f"{model.name}: a model named {name!r} is already added; remove it first")
    for companion in companions:
        shutil.copyfile(companion, folder / companion.name)
    shutil.copyfile(model, target)
    return name


def remove(folder: Path, name: str) -> None:
    files = [f for f in _model_files(folder, name) if f.exists()]
    if not any(f.suffix in MODEL_SUFFIXES for f in files):
        raise SrdeskError(f"no added model named {name!r} in {folder}")
    for f in [*files, folder / f"{name}.card.json"]:
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
