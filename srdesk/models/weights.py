"""Weights files and model cards: where they are, and checking them before use.

Weights are safetensors only: loading one can never run code. Every file has a
JSON model card beside it whose ``sha256`` must match the file's bytes, so a
truncated or tampered download is refused with a clear message.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
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


def read_card(name: str, folder: Path | None = None) -> dict[str, Any] | None:
    path = card_path(name, folder)
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelCorrupt(f"model card {path.name} cannot be read: {exc}") from exc


def load_verified(name: str, folder: Path | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(state dict of CPU tensors, card) after checking the file against the card's sha256."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = folder or weights_dir()
    card = read_card(name, folder)
    if card is None:
        raise ModelMissing(f"model {name!r}: its card {name}.json is missing from {folder}")
    path = folder / card.get("weights_file", f"{name}.safetensors")
    if not path.exists():
        raise ModelMissing(f"model {name!r}: weights file {path.name} is missing from {folder}")
    expected = card.get("sha256")
    if not expected:
        raise ModelCorrupt(f"model {name!r}: its card has no sha256 to check {path.name} against")
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
