"""Start the desktop app: `srdesk [PHOTO]` or `python -m srdesk [PHOTO]`."""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import sys
from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt
from PySide6.QtGui import QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from srdesk import __version__
from srdesk.core.resources import resource, user_data_dir


def log_file() -> Path:
    """``srdesk.log`` in the user data folder (``~/.local/share/srdesk`` on Linux, as the README says)."""
    folder = user_data_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        folder = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.TempLocation) or ".")
    return folder / "srdesk.log"


def setup_logging() -> Path:
    path = log_file()
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=2, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path


def apply_theme(app: QApplication) -> None:
    """Fusion style with the system's light or dark colours, plus a few touches from resources/."""
    app.setStyle("Fusion")
    hints = QGuiApplication.styleHints()
    dark = hints.colorScheme() == Qt.ColorScheme.Dark
    palette = app.palette()
    if dark:
        palette = QPalette()
        for role, colour in (
            (QPalette.ColorRole.Window, "#2b2d30"), (QPalette.ColorRole.WindowText, "#e6e6e6"),
            (QPalette.ColorRole.Base, "#1f2023"), (QPalette.ColorRole.AlternateBase, "#2b2d30"),
            (QPalette.ColorRole.Text, "#e6e6e6"), (QPalette.ColorRole.Button, "#36383c"),
            (QPalette.ColorRole.ButtonText, "#e6e6e6"), (QPalette.ColorRole.Highlight, "#3d7bd9"),
            (QPalette.ColorRole.HighlightedText, "#ffffff"), (QPalette.ColorRole.ToolTipBase, "#36383c"),
            (QPalette.ColorRole.ToolTipText, "#e6e6e6"),
        ):
            from PySide6.QtGui import QColor

            palette.setColor(role, QColor(colour))
    app.setPalette(palette)
    style = resource("style.qss")
    if style.exists():
        app.setStyleSheet(style.read_text(encoding="utf-8"))


def self_test(program: str) -> int:
    """Models first (engine only), then the window, offscreen."""
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from srdesk.core.resources import sample_photo
    from srdesk.engine import selftest

    status = selftest.run(sample_photo(), out=lambda line: print(line, flush=True))
    app = QApplication([program])
    import tempfile

    from PySide6.QtCore import QSettings

    from srdesk.gui.main_window import MainWindow

    with tempfile.TemporaryDirectory(prefix="srdesk-selftest-") as folder:
        # settings of its own: a check neither reads the person's window and choices nor saves over them
        window = MainWindow(settings=QSettings(str(Path(folder) / "settings.ini"), QSettings.Format.IniFormat))
        window.show()
        app.processEvents()
        shown = window.isVisible() and window.view.width() > 0
        print(f"{'PASS' if shown else 'FAIL'} gui: main window opened ({window.width()}x{window.height()})",
              flush=True)
        window.close()
    return status if shown else 1


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    parser = argparse.ArgumentParser(prog="srdesk", description="srdesk: make photos larger and sharper")
    parser.add_argument("photo", nargs="?", type=Path, help="a photo to open")
    parser.add_argument("--version", action="version", version=f"srdesk {__version__}")
    parser.add_argument("--self-test", action="store_true",
                        help="headless check: every model enhances the sample photo; exit 0 when all pass")
    args, qt_args = parser.parse_known_args(argv[1:])
    if args.self_test:
        return self_test(argv[0])

    app = QApplication([argv[0], *qt_args])
    app.setOrganizationName("srdesk")
    app.setApplicationName("srdesk")
    app.setApplicationVersion(__version__)
    icon = resource("srdesk.svg")
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    path = setup_logging()
    logging.getLogger(__name__).info("srdesk %s starting; log file %s", __version__, path)
    apply_theme(app)

    from srdesk.core.resources import user_models_dir
    from srdesk.gui.main_window import MainWindow
    from srdesk.models import registry

    registry.add_user_models(user_models_dir())  # the user's own models, beside srdesk's
    window = MainWindow()
    window.show()
    if args.photo:
        window.open_path(args.photo)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
