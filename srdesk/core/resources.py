"""Finding bundled files: from the source tree, and inside a PyInstaller bundle."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def resource(name: str) -> Path:
    return resources_dir() / name


def sample_photo() -> Path:
    return resource("sample-osprey.jpg")


def user_data_dir() -> Path:
    """srdesk's per-user data folder (log file, added models): the platform's convention.

    Linux: ``$XDG_DATA_HOME/srdesk`` (``~/.local/share/srdesk``); macOS:
    ``~/Library/Application Support/srdesk``; Windows: ``%LOCALAPPDATA%\\srdesk``.
    """
    import os

    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "srdesk"


def user_models_dir() -> Path:
    """Where models the user added live: ``$SRDESK_MODELS_DIR``, else ``models/`` in the user data folder."""
    import os

    override = os.environ.get("SRDESK_MODELS_DIR")
    return Path(override) if override else user_data_dir() / "models"
