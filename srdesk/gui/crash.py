"""When the frozen app hits a bug, say so in a dialog that names the log file, instead of vanishing."""

from __future__ import annotations

import logging
import sys
import traceback
from types import TracebackType


def install_excepthook() -> None:
    previous = sys.excepthook

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        details = "".join(traceback.format_exception(kind, value, tb))
        logging.getLogger("srdesk").critical("unhandled error:\n%s", details)
        try:
            from PySide6.QtWidgets import QApplication, QMessageBox

            from srdesk.gui.app import log_file

            if QApplication.instance() is not None:
                QMessageBox.critical(None, "srdesk hit a problem",
                                     f"Something went wrong: {value}\n\nThe details are in {log_file()}.\n"
                                     "Your photos were not changed.")
        except Exception:  # never let the hook itself crash
            pass
        previous(kind, value, tb)

    sys.excepthook = hook
