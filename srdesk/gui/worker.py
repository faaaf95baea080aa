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
from typing import Any, cast

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
        signal, args = self.signals.failed, cast(tuple[Any, ...], ())
        try:
            result = self.fn(self._progress, self.cancel_event)
        except Cancelled:
            signal = self.signals.cancelled
        except SrdeskError as exc:
            log.info("%s failed: %s", self.description, exc)
            args = (str(exc),)
        except MemoryError:
            log.exception("%s ran out of memory", self.description)
            args = ("Not enough memory for this image. Try a smaller tile size or scale.",)
        except Exception as exc:
            log.error("%s crashed:\n%s", self.description, traceback.format_exc())
            args = (f"Something went wrong ({exc.__class__.__name__}: {exc}). Details are in the log file.",)
        else:
            signal, args = self.signals.finished, (result,)
        finally:
            # done before the signal: a slot that starts the next job must not find this one still busy
            self.done.set()
        signal.emit(*args)


def format_eta(seconds: float) -> str:
    if seconds < 0:
        return ""
    if seconds < 60:
        return f"about {max(1, round(seconds))} s left"
    return f"about {seconds / 60:.0f} min left"


class JobRunner(QObject):
    """Owns the thread pools and every running job; knows what is busy and what is in front.

    Two lanes: ``model`` (one thread: one model at a time, one GPU) for Enhance and batch, ``io``
    (two threads) for opening, saving and previews. Jobs are kept alive until they end. Cancel
    (Esc) reaches only the model job in front, the one the user is waiting for.
    """

    LANES = ("model", "io")

    def __init__(self, parent: QObject | None = None) -> None:
        from PySide6.QtCore import QThreadPool

        super().__init__(parent)
        self.model_pool = QThreadPool(self)
        self.model_pool.setMaxThreadCount(1)
        self.io_pool = QThreadPool(self)
        self.io_pool.setMaxThreadCount(2)
        self._running: dict[str, list[Job]] = {lane: [] for lane in self.LANES}

    def start(self, job: Job, lane: str = "io") -> Job:
        if lane not in self.LANES:
            raise ValueError(f"unknown lane {lane!r}")
        jobs = self._running[lane]
        jobs.append(job)

        def forget(*_args: Any) -> None:
            if job in jobs:
                jobs.remove(job)

        job.signals.finished.connect(forget)
        job.signals.failed.connect(forget)
        job.signals.cancelled.connect(forget)
        (self.model_pool if lane == "model" else self.io_pool).start(job)
        return job

    def busy(self, lane: str = "model") -> bool:
        return any(not job.done.is_set() for job in self._running[lane])

    def front(self) -> Job | None:
        """The model job the user is waiting on (the oldest one not finished)."""
        return next((job for job in self._running["model"] if not job.done.is_set()), None)

    def cancel_front(self) -> Job | None:
        job = self.front()
        if job is not None:
            job.cancel()
        return job

    def cancel_all(self) -> None:
        for jobs in self._running.values():
            for job in jobs:
                job.cancel()

    def wait(self, msecs: int = 5000) -> None:
        self.model_pool.waitForDone(msecs)
        self.io_pool.waitForDone(msecs)
