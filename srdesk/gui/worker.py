"""Background jobs: a QRunnable per job, results and errors delivered by signals.

A job wraps a plain function ``fn(progress, cancel)``; ``progress(done,
total)`` and ``cancel`` (a threading.Event) are what the engine's pipeline
already takes, so no image processing lives here. Only numpy arrays, engine
dataclasses and QImage copies cross back to the GUI thread.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Signal

from srdesk.core.errors import Cancelled, SrdeskError

log = logging.getLogger(__name__)

JobFn = Callable[[Callable[[int, int], None], threading.Event], Any]


class JobSignals(QObject):
    progress = Signal(int, int, float)  # done, total, seconds left (-1: unknown)
    finished = Signal(object)
    failed = Signal(str)  # a sentence for people; the traceback went to the log
    cancelled = Signal()


class Job(QRunnable):
    def __init__(self, fn: JobFn, description: str = "") -> None:
        super().__init__()
        self.setAutoDelete(False)  # the window keeps a reference while it runs
        self.fn = fn
        self.description = description
        self.signals = JobSignals()
        self.cancel_event = threading.Event()
        self.done = threading.Event()
        self._started = 0.0

    def cancel(self) -> None:
        self.cancel_event.set()

    def _progress(self, done: int, total: int) -> None:
        elapsed = time.monotonic() - self._started
        left = elapsed / done * (total - done) if done else -1.0
        self.signals.progress.emit(done, total, left)

    def run(self) -> None:
        self._started = time.monotonic()
        try:
            result = self.fn(self._progress, self.cancel_event)
        except Cancelled:
            self.signals.cancelled.emit()
        except SrdeskError as exc:
            log.info("%s failed: %s", self.description, exc)
            self.signals.failed.emit(str(exc))
        except MemoryError:
            log.exception("%s ran out of memory", self.description)
            self.signals.failed.emit("Not enough memory for this image. Try a smaller tile size or scale.")
        except Exception as exc:
            log.error("%s crashed:\n%s", self.description, traceback.format_exc())
            self.signals.failed.emit(f"Something went wrong ({exc.__class__.__name__}: {exc}). "
                                     "Details are in the log file.")
        else:
            self.signals.finished.emit(result)
        finally:
            self.done.set()


def format_eta(seconds: float) -> str:
    if seconds < 0:
        return ""
    if seconds < 60:
        return f"about {max(1, round(seconds))} s left"
    return f"about {seconds / 60:.0f} min left"
