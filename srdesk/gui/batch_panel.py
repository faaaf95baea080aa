"""The batch queue: one row per file, an output folder, a naming pattern, Start / Pause / Cancel.

The queue runs the engine's :func:`srdesk.core.batch.run_batch` in one
background job (so one model job at a time); its per-file updates come back
as signals and fill the table.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtGui import QBrush, QColor, QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from srdesk.engine import batch
from srdesk.gui.worker import Job, JobRunner, format_eta

STATUS_ROLE = Qt.ItemDataRole.UserRole  # the machine-readable status behind the shown text
STATUS_COLOURS = {"done": "#2e8b3a", "failed": "#c62828"}
STATUS_TEXT = {"waiting": "Waiting", "running": "Running", "done": "Done", "failed": "Failed", "skipped": "Skipped"}


class _Relay(QObject):
    """Carries per-file updates from the batch thread to the GUI thread."""

    item = Signal(int, str, str, str)  # row, status, output, message
    tile = Signal(int, int, int)  # row, done, total


EXISTING_LABELS = [("New name", "rename"), ("Skip", "skip"), ("Overwrite", "overwrite")]


class BatchPanel(QWidget):
    finished = Signal(object)  # BatchReport
    overallProgress = Signal(int, int, str)  # photos finished, photos in the run, time left ("" unknown)
    openResult = Signal(object)  # Path of a finished output, double-clicked

    def __init__(self, options_provider: Any, jobs: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._options_provider = options_provider  # (out_dir, pattern, existing) -> batch.BatchOptions
        self._started_at = 0.0
        self._finished_count = 0
        self._outputs: dict[int, str] = {}
        self._counting = False  # a run is in progress: finished rows count towards the overall progress
        self._jobs = jobs
        self._sources: list[Path] = []
        self._job: Job | None = None
        self._pause = threading.Event()
        self._relay = _Relay()
        self._relay.item.connect(self._on_item)
        self._relay.tile.connect(self._on_tile)
        self.report: batch.BatchReport | None = None

        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["File", "Status", "Progress", "Result"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.cellDoubleClicked.connect(self._on_double_click)
        self.existing = QComboBox()
        for label, value in EXISTING_LABELS:
            self.existing.addItem(label, value)
        self.existing.setToolTip("When an output file of that name exists already: give the new one a new name "
                                 "(-2, -3...), skip the photo, or overwrite the output (never an original)")
        self.overall = QProgressBar()
        self.overall.setMaximumWidth(200)
        self.overall.setFormat("%v of %m photos")

        self.out_dir = QLineEdit()
        self.out_dir.setPlaceholderText("Output folder")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose_folder)
        self.pattern = QLineEdit(batch.DEFAULT_PATTERN)
        self.pattern.setToolTip("Output file name: {stem} {scale} {model} {ext}")
        self.start_button = QPushButton("Start")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.cancel_button = QPushButton("Cancel")
        self.open_button = QPushButton("Open output folder")
        self.clear_button = QPushButton("Clear")
        self.summary = QLabel("Drop photos or folders on the window to add them.")
        self.start_button.clicked.connect(self.start)
        self.pause_button.toggled.connect(self.set_paused)
        self.cancel_button.clicked.connect(self.cancel)
        self.open_button.clicked.connect(self.open_output_folder)
        self.clear_button.clicked.connect(self.clear)

        folder_row = QHBoxLayout()
        folder_row.addWidget(QLabel("Save to:"))
        folder_row.addWidget(self.out_dir, 2)
        folder_row.addWidget(browse)
        folder_row.addWidget(QLabel("Name:"))
        folder_row.addWidget(self.pattern, 1)
        folder_row.addWidget(QLabel("If it exists:"))
        folder_row.addWidget(self.existing)
        buttons = QHBoxLayout()
        for b in (self.start_button, self.pause_button, self.cancel_button, self.clear_button):
            buttons.addWidget(b)
        buttons.addWidget(self.overall)
        buttons.addStretch(1)
        buttons.addWidget(self.summary)
        buttons.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(folder_row)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        self._update_buttons()

    # -- queue -----------------------------------------------------------------
    def add(self, paths: list[str], recursive: bool = True) -> int:
        if self.running():
            return 0
        new = [p for p in batch.collect_inputs(paths, recursive=recursive) if p not in self._sources]
        for path in new:
            row = self.table.rowCount()
            self.table.insertRow(row)
            name = QTableWidgetItem(path.name)
            name.setToolTip(str(path))
            self.table.setItem(row, 0, name)
            self.table.setItem(row, 1, QTableWidgetItem(STATUS_TEXT["waiting"]))
            bar = QProgressBar()
            bar.setRange(0, 1)
            bar.setValue(0)
            bar.setTextVisible(False)
            self.table.setCellWidget(row, 2, bar)
            self.table.setItem(row, 3, QTableWidgetItem(""))
            self._sources.append(path)
        if new and not self.out_dir.text():
            self.out_dir.setText(str(new[0].parent / "enhanced"))
        self.summary.setText(f"{len(self._sources)} photos in the queue")
        self._update_buttons()
        return len(new)

    def sources(self) -> list[Path]:
        return list(self._sources)

    def status(self, row: int) -> str:
        item = self.table.item(row, 1)
        return (item.data(STATUS_ROLE) if item is not None else None) or "waiting"

    def clear(self) -> None:
        if self.running():
            return
        self.table.setRowCount(0)
        self._sources.clear()
        self.report = None
        self.summary.setText("Drop photos or folders on the window to add them.")
        self._update_buttons()

    def running(self) -> bool:
        return self._job is not None and not self._job.done.is_set()

    def start(self) -> None:
        if self.running() or not self._sources:
            return
        out_dir = Path(self.out_dir.text().strip() or (self._sources[0].parent / "enhanced"))
        options = self._options_provider(out_dir, self.pattern.text().strip() or batch.DEFAULT_PATTERN,
                                         self.existing.currentData())
        for row in range(self.table.rowCount()):
            self._on_item(row, "waiting", "", "")
        self._outputs.clear()
        self._finished_count = 0
        self._counting = True
        self._started_at = time.monotonic()
        self.overall.setRange(0, len(self._sources))
        self.overall.setValue(0)
        self.overallProgress.emit(0, len(self._sources), "")
        sources = list(self._sources)
        row_of = {path: row for row, path in enumerate(sources)}
        relay = self._relay
        pause = self._pause
        pause.clear()

        def work(progress: Any, cancel: threading.Event) -> batch.BatchReport:
            def on_update(item: batch.BatchItem) -> None:
                relay.item.emit(row_of[item.source], item.status, str(item.output or ""), item.message)

            def on_tile(item: batch.BatchItem, done: int, total: int) -> None:
                relay.tile.emit(row_of[item.source], done, total)

            return batch.run_batch(sources, options, on_update=on_update, progress=on_tile, cancel=cancel,
                                   pause=pause)

        self._job = Job(work, "batch")
        self._job.signals.finished.connect(self._on_finished)
        self._job.signals.failed.connect(lambda message: self.summary.setText(message))
        self._job.signals.failed.connect(lambda _m: self._update_buttons())
        self.summary.setText("Working…")
        self._jobs.start(self._job, "model")
        self._update_buttons()

    def set_paused(self, paused: bool) -> None:
        if paused:
            self._pause.set()
            self.summary.setText("Paused after the current photo")
        else:
            self._pause.clear()
            if self.running():
                self.summary.setText("Working…")

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self._pause.clear()

    def open_output_folder(self) -> None:
        folder = Path(self.out_dir.text())
        if folder.is_dir():
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save enhanced photos to", self.out_dir.text())
        if folder:
            self.out_dir.setText(folder)

    # -- updates from the worker --------------------------------------------------
    def _on_item(self, row: int, status: str, output: str, message: str) -> None:
        item, result = self.table.item(row, 1), self.table.item(row, 3)
        if item is None or result is None:  # the row was cleared meanwhile
            return
        item.setText(STATUS_TEXT.get(status, status))
        item.setData(STATUS_ROLE, status)
        colour = STATUS_COLOURS.get(status)
        item.setForeground(QBrush(QColor(colour)) if colour else self.table.palette().text())
        result.setText(message if status == "failed" else (Path(output).name if output else message))
        result.setToolTip(output or message)
        bar = self.table.cellWidget(row, 2)
        if isinstance(bar, QProgressBar) and status in ("done", "failed", "skipped"):
            bar.setRange(0, 1)
            bar.setValue(1 if status == "done" else 0)
        if status == "done" and output:
            self._outputs[row] = output
        if status in ("done", "failed", "skipped") and self._counting:
            self._finished_count += 1
            total = len(self._sources)
            elapsed = time.monotonic() - self._started_at
            left = elapsed / self._finished_count * (total - self._finished_count)
            eta = format_eta(left) if self._finished_count < total else ""
            self.overall.setValue(self._finished_count)
            self.summary.setText(f"{self._finished_count} of {total} photos" + (f", {eta}" if eta else ""))
            self.overallProgress.emit(self._finished_count, total, eta)

    def _on_double_click(self, row: int, _column: int) -> None:
        """A finished row opens its result in the compare view."""
        output = self._outputs.get(row)
        if output and Path(output).exists():
            self.openResult.emit(Path(output))

    def _on_tile(self, row: int, done: int, total: int) -> None:
        bar = self.table.cellWidget(row, 2)
        if isinstance(bar, QProgressBar):
            bar.setRange(0, total)
            bar.setValue(done)

    def _on_finished(self, report: batch.BatchReport) -> None:
        self._counting = False
        self.report = report
        self.summary.setText(report.summary().capitalize())
        self.pause_button.setChecked(False)
        self._update_buttons()
        self.finished.emit(report)

    def _update_buttons(self) -> None:
        running = self.running()
        self.start_button.setEnabled(not running and bool(self._sources))
        self.pause_button.setEnabled(running)
        self.cancel_button.setEnabled(running)
        self.clear_button.setEnabled(not running and bool(self._sources))
        self.open_button.setEnabled(self.report is not None and self.report.count("done") > 0)
