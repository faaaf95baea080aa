"""Weights files and model cards: where they are, and checking them before use.

Weights are safetensors only: loading one can never run code. Every file has a
JSON model card beside it whose ``sha256`` must match the file's bytes, so a
truncated or tampered download is refused with a clear message.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from srdesk.core.errors import ModelCorrupt, ModelMissing


def weights_dir() -> Path:
    """$SRDESK_WEIGHTS_DIR, else ``weights/`` in the frozen bundle, else in the source tree."""
    override = os.environ.get("SRDESK_WEIGHTS_DIR")
    if override:
        return Path(override)
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "weights"
    return Path(__file__).resolve().parents[2] / "weights"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def card_path(name: str, folder: Path | None = None) -> Path:
    return (folder or weights_dir()) / f"{name}.json"


CARD_SCHEMA = 2
"""Version of the card layout. 1: the first cards (no ``schema`` key; a ``validation_*_at_export`` number
whose meaning depended on the run). 2: ``schema``, and ``training.validation`` = {metric, value} or None."""


@dataclass(frozen=True)
class ModelCard:
    """What srdesk knows about a weights file: how to build it, that it is intact, how it was made and
    how good it measured. Stored as JSON beside the weights; read through :meth:`from_dict`, which
    checks the layout and upgrades older versions."""

    name: str
    weights_file: str
    sha256: str
    architecture: dict[str, Any]
    description: str = ""
    fp16_safe: bool = False
    licence: str = ""
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    metrics_bicubic: dict[str, Any] = field(default_factory=dict)
    metrics_protocol: str = ""
    metrics_real: dict[str, Any] = field(default_factory=dict)  # the same on realistic inputs (eval --degradation real)
    metrics_real_bicubic: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # further sections, e.g. network_interpolation
    schema: int = CARD_SCHEMA

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "model card") -> ModelCard:
        if not isinstance(data, dict):
            raise ModelCorrupt(f"{source}: not a JSON object")
        data = dict(data)
        schema = int(data.pop("schema", 1))
        if schema > CARD_SCHEMA:
            raise ModelCorrupt(f"{source}: card version {schema} is newer than this srdesk understands "
                               f"({CARD_SCHEMA}); update srdesk")
        if schema == 1:
            data["training"] = _upgrade_training_v1(dict(data.get("training") or {}))
        missing = [k for k in ("name", "weights_file", "sha256", "architecture") if not data.get(k)]
        if missing:
            raise ModelCorrupt(f"{source}: missing {', '.join(missing)}")
        if not re.fullmatch(r"[0-9a-f]{64}", str(data["sha256"])):
            raise ModelCorrupt(f"{source}: sha256 is not 64 hexadecimal digits")
        arch = data["architecture"]
        if not isinstance(arch, dict) or "arch" not in arch or "scale" not in arch:
            raise ModelCorrupt(f"{source}: architecture needs at least 'arch' and 'scale'")
        known = {f.name for f in fields(cls)} - {"extra", "schema"}
        extra = {k: data.pop(k) for k in list(data) if k not in known}
        return cls(**data, extra=extra, schema=CARD_SCHEMA)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        extra = out.pop("extra")
        out = {"schema": out.pop("schema"), **out, **extra}
        return out

    def with_(self, **changes: Any) -> ModelCard:
        from dataclasses import replace

        return replace(self, **changes)


def _upgrade_training_v1(training: dict[str, Any]) -> dict[str, Any]:
    """v1 kept one number whose meaning depended on the run; v2 says what it is (or nothing)."""
    adversarial = bool((training.get("config") or {}).get("adversarial"))
    if "validation_psnr_set5_at_export" in training:
        value = training.pop("validation_psnr_set5_at_export")
        training["validation"] = {"metric": "Set5 Y-PSNR (dB), clean inputs", "value": value}
    elif "validation_score_at_export" in training:
        value = training.pop("validation_score_at_export")
        # adversarial runs kept the latest weights: their "score" was the step count, not a measurement
        training["validation"] = None if adversarial else {"metric": "validation score", "value": value}
    return training


def read_card(name: str, folder: Path | None = None) -> ModelCard | None:
    path = card_path(name, folder)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelCorrupt(f"model card {path.name} cannot be read: {exc}") from exc
    return ModelCard.from_dict(data, source=f"model card {path.name}")


def write_card(card: ModelCard, folder: Path | None = None) -> Path:
    path = card_path(card.name, folder)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(card.to_dict(), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def load_verified(name: str, folder: Path | None = None) -> tuple[dict[str, Any], ModelCard]:
    """(state dict of CPU tensors, card) after checking the file against the card's sha256."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = folder or weights_dir()
    card = read_card(name, folder)
    if card is None:
        raise ModelMissing(f"model {name!r}: its card {name}.json is missing from {folder}")
    path = folder / card.weights_file
    if not path.exists():
        raise ModelMissing(f"model {name!r}: weights file {path.name} is missing from {folder}")
    expected = card.sha256
    actual = sha256_of(path)
    if actual != expected:
        raise ModelCorrupt(
            f"model {name!r}: {path.name} is damaged or was changed (sha256 {actual[:12]}..., "
            f"expected {expected[:12]}...); reinstall srdesk to restore it"
        )
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelCorrupt(f"model {name!r}: {path.name} is not a valid safetensors file: {exc}") from exc
    return state, card
