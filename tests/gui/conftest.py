from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QSettings


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, settings: QSettings):
    from srdesk.gui.main_window import MainWindow

    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.resize(1000, 700)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.cancel()
    win.model_pool.waitForDone(5000)
    win.io_pool.waitForDone(5000)


@pytest.fixture
def test_photo(tmp_path: Path) -> Path:
    y, x = np.mgrid[0:60, 0:80]
    data = np.stack([x * 3, y * 4, (x + y) * 2], axis=2).clip(0, 255).astype(np.uint8)
    path = tmp_path / "photo.png"
    Image.fromarray(data).save(path)
    return path
