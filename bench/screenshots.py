"""Screenshots of the real window for the README (run under Xvfb or on a desktop).

    xvfb-run -s "-screen 0 1400x900x24" python bench/screenshots.py --model srresnet-x4 --out docs

Opens the sample photo, previews the part in view, enhances it, and saves: the
preview, the compare slider zoomed into a detail, the side-by-side view, and the
batch panel with a finished queue.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QPointF, QSettings, QTimer
from PySide6.QtWidgets import QApplication

from srdesk.core.resources import sample_photo
from srdesk.gui.app import apply_theme
from srdesk.gui.main_window import MainWindow


def wait_for(app: QApplication, condition, timeout_s: float = 300) -> None:
    import time

    end = time.monotonic() + timeout_s
    while not condition():
        app.processEvents()
        time.sleep(0.02)
        if time.monotonic() > end:
            raise TimeoutError("the window did not get there in time")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="srresnet-x4")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv)
    apply_theme(app)
    scratch = Path(tempfile.mkdtemp())
    window = MainWindow(settings=QSettings(str(scratch / "s.ini"), QSettings.Format.IniFormat))
    window.resize(1360, 860)
    window.show()
    window.open_path(sample_photo())
    wait_for(app, lambda: window.source is not None)
    window.model_combo.setCurrentIndex(window.model_combo.findData(args.model))
    view = window.view
    # zoomed into the bird's head (the original's pixels), a preview of the part in view
    view.set_zoom(4.0)
    view.centre = QPointF(200, 82)
    view.set_slider(0.35)
    window.preview()
    wait_for(app, lambda: view.preview() is not None)
    app.processEvents()
    window.grab().save(str(args.out / "preview.png"))
    window.enhance()
    wait_for(app, lambda: window.result is not None)
    view.fit()
    view.set_slider(0.5)
    app.processEvents()
    window.grab().save(str(args.out / "compare-fit.png"))
    # zoom into the bird's head, the slider across it
    view.set_zoom(2.0)
    view.centre = QPointF(800, 330)  # the osprey's head
    view.set_slider(0.2)  # the divider across the head
    app.processEvents()
    window.grab().save(str(args.out / "compare-slider.png"))
    window.mode_side.setChecked(True)
    app.processEvents()
    window.grab().save(str(args.out / "compare-side.png"))
    window.mode_slider.setChecked(True)
    # a batch with one bad file
    photos = scratch / "photos"
    photos.mkdir()
    for i in range(3):
        shutil.copy(sample_photo(), photos / f"holiday-{i + 1}.jpg")
    (photos / "damaged.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a complete jpeg")
    window.model_combo.setCurrentIndex(window.model_combo.findData("lanczos"))
    window.handle_drop([str(photos)])
    window.batch_panel.out_dir.setText(str(scratch / "out"))
    window.batch_panel.start()
    wait_for(app, lambda: window.batch_panel.report is not None)
    app.processEvents()
    QTimer.singleShot(0, lambda: None)
    window.grab().save(str(args.out / "batch.png"))
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
