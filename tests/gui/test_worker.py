"""Background jobs: a job is no longer busy by the time any of its end signals is handled."""

from __future__ import annotations

import threading
import time

import pytest

from srdesk.core.errors import Cancelled, InvalidParameter
from srdesk.gui.worker import Job, JobRunner


def _cancelled(_progress, cancel: threading.Event) -> None:
    while not cancel.is_set():
        time.sleep(0.001)
    raise Cancelled("stopped")


def _fails(_progress, _cancel) -> None:
    raise InvalidParameter("bad value")


@pytest.mark.parametrize("fn, signal", [(lambda p, c: 42, "finished"), (_fails, "failed"), (_cancelled, "cancelled")])
def test_the_runner_is_free_when_the_end_signal_arrives(qtbot, fn, signal: str) -> None:
    """The window starts the next Enhance from these signals; a job still 'busy' then made it refuse silently."""
    runner = JobRunner()
    seen: list[bool] = []
    for _ in range(20):  # the race showed about one time in three
        job = Job(fn, "test")
        getattr(job.signals, signal).connect(lambda *_a: seen.append(runner.busy("model")))
        with qtbot.waitSignal(getattr(job.signals, signal), timeout=10_000):
            runner.start(job, "model")
            job.cancel()
    runner.wait()
    assert seen == [False] * 20
