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
from srdesk.gui.resources import resource


def log_file() -> Path:
    folder = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation) or ".")
    folder.mkdir(parents=True, exist_ok=True)
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


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    parser = argparse.ArgumentParser(prog="srdesk", description="srdesk: make photos larger and sharper")
    parser.add_argument("photo", nargs="?", type=Path, help="a photo to open")
    parser.add_argument("--version", action="version", version=f"srdesk {__version__}")
    args, qt_args = parser.parse_known_args(argv[1:])

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

    from srdesk.gui.main_window import MainWindow

    window = MainWindow()
    window.show()
    if args.photo:
        window.open_path(args.photo)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
