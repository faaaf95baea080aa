"""The main window: open a photo, Enhance, compare, save; drop folders for batch.

Every long operation (load, enhance, save, batch) runs as a :class:`Job` in
a thread pool; the model pool has one thread, so one model job runs at a
time. What is on screen is the :class:`~srdesk.gui.session.Session`'s (the
photo, its results and the picked sample); the window builds an
:class:`EnhanceRequest` from its controls, hands it to the engine, and shows
what the session holds. All image work is the engine's (imageio, run, batch).
"""

from __future__ import annotations

import logging
import math
import shutil
import tempfile
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QMimeData, QRectF, QSettings, QSize, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QIcon,
    QImage,
    QKeySequence,
    QPixmap,
)
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSlider,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from srdesk.core import imageio
from srdesk.core.constants import DEFAULT_TEMPERATURE, GUI_SCALE_MAX, READABLE_SUFFIXES, SCALE_MIN
from srdesk.core.errors import SrdeskError
from srdesk.core.imageio import LoadedImage
from srdesk.core.request import EnhanceRequest
from srdesk.core.resources import sample_photo
from srdesk.engine import batch, pipeline, regions
from srdesk.gui import preferences
from srdesk.gui.batch_panel import BatchPanel
from srdesk.gui.convert import arrays_from_qimage, to_qimage
from srdesk.gui.session import Session
from srdesk.gui.viewer import CompareView, ImagePyramid
from srdesk.gui.worker import Job, JobRunner, format_eta
from srdesk.models import registry

log = logging.getLogger(__name__)

OPEN_FILTER = f"Images ({' '.join('*' + s for s in sorted(READABLE_SUFFIXES))});;All files (*)"
FORMATS = [("Same as the original", ""), ("PNG", "png"), ("JPEG", "jpg"), ("WebP", "webp"), ("TIFF", "tiff")]
TILES = [("Automatic", 0), ("128 px", 128), ("256 px", 256), ("512 px", 512), ("1024 px", 1024)]
MAX_RECENT = 8


def human_size(image: LoadedImage) -> str:
    width, height = image.size
    return f"{width}\u00d7{height}"


MIN_RESTORED_SIZE = (640, 400)  # a saved window smaller than this opens at the default size instead


def automatic_choice(notes: list[str]) -> str:
    """" (chose clean-x4 \u2013 JPEG quality 92 and little noise...)" after an automatic method, else ""."""
    for note in notes:
        if note.startswith(pipeline.AUTOMATIC_NOTE):
            return f" (chose {note.removeprefix(pipeline.AUTOMATIC_NOTE)})"
    return ""


def _model_tooltip(entry: registry.ModelEntry) -> str:
    """The method's name, description and measured quality, one kind of input per line; wrapped, as a plain-text
    tooltip is one line as wide as its text."""
    text = textwrap.fill(f"{entry.name}: {entry.description}", 90)
    lines = entry.quality_lines()
    if lines:
        text += "\nMeasured:\n" + "\n".join(textwrap.fill(line, 90, subsequent_indent="  ") for line in lines)
    return text


class MainWindow(QMainWindow):
    imageLoaded = Signal()
    resultReady = Signal()
    previewReady = Signal()
    enhanceCancelled = Signal()
    errorShown = Signal(str)
    saved = Signal(object)  # Path

    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings("srdesk", "srdesk")
        self.jobs = JobRunner(self)
        self.model_pool, self.io_pool = self.jobs.model_pool, self.jobs.io_pool
        self.session = Session()
        self.session.listeners.append(self._on_session)
        self.original_image: ImagePyramid | None = None
        self._job: Job | None = None  # the Enhance or preview in progress (the batch's job is the panel's)
        self._job_kind = ""  # "enhance" or "preview"
        self._preview_again = False  # a settings change came while a preview was made: make it again
        self._preview_timer = QTimer(self)  # settings changes while a preview is shown remake it, once they settle
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(300)
        self._preview_timer.timeout.connect(self._refresh_preview)
        self.error_box: QMessageBox | None = None
        self.question_box: QMessageBox | None = None
        self._paste_dir: Path | None = None  # pasted and dropped picture data, written as PNG while the window is open
        self._pasted = 0

        self.setWindowTitle("srdesk")
        self.setAcceptDrops(True)
        self.view = CompareView()
        self.batch_panel = BatchPanel(self.batch_options, self.jobs)
        self.batch_panel.setVisible(False)
        self.batch_panel.finished.connect(self._on_batch_finished)
        self.batch_panel.overallProgress.connect(self._on_batch_progress)
        self.batch_panel.openResult.connect(self.open_path)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.view)
        splitter.addWidget(self.batch_panel)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        self.splitter = splitter

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        body = QSplitter(Qt.Orientation.Horizontal)
        body.addWidget(self._build_controls())
        body.addWidget(splitter)
        body.setStretchFactor(1, 1)
        body.setCollapsible(0, False)
        layout.addWidget(body)
        self.setCentralWidget(central)
        self._build_status_bar()
        self._build_menus()
        self.model_combo.currentIndexChanged.connect(lambda _index: self._update_actions())  # samplers: no preview
        for changed in (self.model_combo.currentIndexChanged, self.scale_spin.valueChanged,
                        self.strength_slider.valueChanged):
            changed.connect(self._settings_changed)
        self._restore_settings()
        self._update_actions()

    # ------------------------------------------------------------------ what is shown (the session's)
    @property
    def source(self) -> LoadedImage | None:
        return self.session.photo.image if self.session.photo else None

    @property
    def source_path(self) -> Path | None:
        return self.session.photo.path if self.session.photo else None

    @property
    def result(self) -> LoadedImage | None:
        return self.session.saveable()

    @property
    def results(self) -> list[LoadedImage]:
        return list(self.session.results.images) if self.session.results else []

    # ------------------------------------------------------------------ building
    def _build_controls(self) -> QWidget:
        panel = QWidget()
        panel.setObjectName("controls")
        panel.setMinimumWidth(250)
        panel.setMaximumWidth(360)
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)

        self.model_combo = QComboBox()
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_combo.setMinimumContentsLength(18)
        self._fill_model_combo()
        self.model_combo.currentIndexChanged.connect(self._on_model_changed)

        self.scale_spin = QDoubleSpinBox()
        self.scale_spin.setRange(SCALE_MIN, GUI_SCALE_MAX)  # as srdesk.gui.preferences declares
        self.scale_spin.setSingleStep(0.5)
        self.scale_spin.setDecimals(2)
        self.scale_spin.setValue(4.0)
        self.scale_spin.setSuffix("\u00d7")
        self.strength_slider = QSlider(Qt.Orientation.Horizontal)
        self.strength_slider.setRange(0, 100)
        self.strength_slider.setValue(100)
        self.strength_slider.setToolTip("Detail strength: left keeps the most faithful result, right adds the most "
                                        "texture (may invent detail)")
        self.device_combo = QComboBox()
        self.device_combo.addItem("Automatic", "auto")
        self.device_combo.addItem("CPU", "cpu")
        self.tile_combo = QComboBox()
        for label, value in TILES:
            self.tile_combo.addItem(label, value)
        self.format_combo = QComboBox()
        for label, extension in FORMATS:
            self.format_combo.addItem(label, extension)
        self.quality_spin = QSpinBox()
        self.quality_spin.setRange(1, 100)
        self.quality_spin.setValue(95)
        self.format_combo.currentIndexChanged.connect(self._update_quality_enabled)
        self.before_combo = QComboBox()
        self.before_combo.addItem("Original pixels", "nearest")
        self.before_combo.addItem("Bicubic", "bicubic")
        self.before_combo.currentIndexChanged.connect(self._on_before_changed)

        self.samples_spin = QSpinBox()
        self.samples_spin.setRange(int(preferences.SETTINGS["samples"].low or 1),
                                   int(preferences.SETTINGS["samples"].high or 8))
        self.samples_spin.setValue(4)
        self.samples_spin.setToolTip("How many different plausible results to draw")
        self.temperature_spin = QDoubleSpinBox()
        self.temperature_spin.setRange(0.0, 1.0)  # the paper's tau: 0 most likely values, 1 the model's own
        self.temperature_spin.setSingleStep(0.1)
        self.temperature_spin.setValue(DEFAULT_TEMPERATURE)
        self.temperature_spin.setToolTip("0: the most likely value of every pixel; 1: the model's full variety")

        form.addRow("Method", self.model_combo)
        form.addRow("Detail", self.strength_slider)
        form.addRow("Samples", self.samples_spin)
        form.addRow("Temperature", self.temperature_spin)
        self.sampler_rows = [self.samples_spin, self.temperature_spin]
        self._form = form
        form.addRow("Scale", self.scale_spin)
        self.width_spin = QSpinBox()
        self.width_spin.setRange(1, 200_000)
        self.width_spin.setSuffix(" px")
        self.width_spin.setToolTip("The result's width in pixels: sets the scale (the height follows)")
        self.width_spin.setEnabled(False)
        self.size_label = QLabel("")
        self.size_label.setObjectName("hint")
        self.width_spin.valueChanged.connect(self._on_width_changed)
        self.scale_spin.valueChanged.connect(self._update_output_size)
        form.addRow("Width", self.width_spin)
        form.addRow("", self.size_label)
        form.addRow("Device", self.device_combo)
        form.addRow("Tile size", self.tile_combo)
        form.addRow("Format", self.format_combo)
        form.addRow("Quality", self.quality_spin)
        form.addRow("Before shows", self.before_combo)

        self.enhance_button = QPushButton("Enhance")
        self.enhance_button.setObjectName("enhanceButton")
        self.enhance_button.setDefault(True)
        self.enhance_button.clicked.connect(self.enhance)
        self.preview_button = QPushButton("Preview the part in view")
        self.preview_button.setToolTip("Enhance only what the view shows, with these settings, in seconds (P); "
                                       "zoom in first to look closely. Enhance makes the whole photo.")
        self.preview_button.clicked.connect(self.preview)
        self.save_button = QPushButton("Save result…")
        self.save_button.clicked.connect(self.save_result_as)

        self.samples_list = QListWidget()
        self.samples_list.setViewMode(QListView.ViewMode.IconMode)
        self.samples_list.setIconSize(QSize(96, 96))
        self.samples_list.setMaximumHeight(130)
        self.samples_list.setVisible(False)
        self.samples_list.currentRowChanged.connect(self._on_sample_picked)

        self.mode_slider = QRadioButton("Slider")
        self.mode_side = QRadioButton("Side by side")
        self.mode_slider.setChecked(True)
        modes = QButtonGroup(panel)
        modes.addButton(self.mode_slider)
        modes.addButton(self.mode_side)
        self.mode_slider.toggled.connect(lambda on: self.view.set_mode("slider") if on else None)
        self.mode_side.toggled.connect(lambda on: self.view.set_mode("side") if on else None)
        self.view.modeChanged.connect(self._on_view_mode)
        self.view.boxDrawn.connect(self._on_box_drawn)

        layout = QVBoxLayout(panel)
        layout.addLayout(form)
        layout.addWidget(self.enhance_button)
        layout.addWidget(self.preview_button)
        layout.addWidget(self.save_button)
        layout.addWidget(self.samples_list)
        layout.addSpacing(12)
        layout.addWidget(QLabel("Compare"))
        layout.addWidget(self.mode_slider)
        layout.addWidget(self.mode_side)
        self.lens_box = QCheckBox("Magnifier lens (M)")
        self.lens_box.toggled.connect(lambda on: self.lens_action.setChecked(on))
        layout.addWidget(self.lens_box)
        hint = QLabel("Drag the divider to compare. Wheel: zoom, drag: pan, T: flip before/after, "
                      "M: magnifier lens, P: preview the part in view.")
        hint.setWordWrap(True)
        hint.setObjectName("hint")
        layout.addWidget(hint)
        layout.addStretch(1)
        self._on_model_changed()
        return panel

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.status_label = QLabel("Ready")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setVisible(False)
        self.eta_label = QLabel()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.zoom_label = QLabel()
        bar.addWidget(self.status_label, 1)
        bar.addPermanentWidget(self.eta_label)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.cancel_button)
        bar.addPermanentWidget(self.zoom_label)
        self.view.zoomChanged.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f} %"))

    def _action(self, text: str, shortcut: Any, slot: Any, menu: Any) -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcuts(shortcut if isinstance(shortcut, list) else [QKeySequence(shortcut)])
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action("&Open…", QKeySequence.StandardKey.Open, self.open_dialog, file_menu)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self._action("Open the &sample photo", None, lambda: self.open_path(sample_photo()), file_menu)
        file_menu.addSeparator()
        self.save_action = self._action("&Save result", QKeySequence.StandardKey.Save, self.save_result, file_menu)
        self.save_as_action = self._action("Save result &as…", QKeySequence("Ctrl+Shift+S"), self.save_result_as,
                                           file_menu)
        file_menu.addSeparator()
        self._action("&Batch…", QKeySequence("Ctrl+B"), self.batch_dialog, file_menu)
        self._action("Add &model…", None, self.add_models_dialog, file_menu)
        file_menu.addSeparator()
        self._action("&Quit", QKeySequence.StandardKey.Quit, self.close, file_menu)

        edit_menu = self.menuBar().addMenu("&Edit")
        self.copy_action = self._action("&Copy result", QKeySequence.StandardKey.Copy, self.copy_result, edit_menu)
        self.copy_action.setToolTip("The result on screen, to paste into another program")
        self.paste_action = self._action("&Paste", QKeySequence.StandardKey.Paste, self.paste, edit_menu)

        image_menu = self.menuBar().addMenu("&Image")
        self.enhance_action = self._action("&Enhance", [QKeySequence("Ctrl+E"), QKeySequence("Ctrl+Return")],
                                           self.enhance, image_menu)
        self.preview_action = self._action("&Preview the part in view", QKeySequence("P"), self.preview, image_menu)
        self.cancel_action = self._action("&Cancel", QKeySequence("Esc"), self.cancel, image_menu)

        view_menu = self.menuBar().addMenu("&View")
        self._action("&Fit to window", QKeySequence("Ctrl+0"), self.view.fit, view_menu)
        self._action("&Actual pixels (100 %)", QKeySequence("Ctrl+1"), self.view.actual_size, view_menu)
        self._action("Zoom &in", [QKeySequence.StandardKey.ZoomIn, QKeySequence("Ctrl+=")],
                     lambda: self.view.zoom_by(1.25), view_menu)
        self._action("Zoom &out", QKeySequence.StandardKey.ZoomOut, lambda: self.view.zoom_by(0.8), view_menu)
        view_menu.addSeparator()
        self._action("&Slider", QKeySequence("1"), lambda: self.mode_slider.setChecked(True), view_menu)
        self._action("Side &by side", QKeySequence("2"), lambda: self.mode_side.setChecked(True), view_menu)
        self._action("&Toggle before / after", QKeySequence("T"), self.view.toggle_before_after, view_menu)
        self.lens_action = self._action("&Magnifier lens", QKeySequence("M"), lambda: None, view_menu)
        self.lens_action.setCheckable(True)
        self.lens_action.toggled.connect(self.view.set_lens)
        self.lens_action.toggled.connect(self.lens_box.setChecked)
        self.lens_action.setToolTip("A lens under the cursor shows before and after at 1:1 or closer (M)")
        self._action("Show batch &queue", QKeySequence("Ctrl+Shift+B"),
                     lambda: self.batch_panel.setVisible(not self.batch_panel.isVisible()), view_menu)

        help_menu = self.menuBar().addMenu("&Help")
        self._action("&About srdesk", None, self._about, help_menu)
        self._refresh_recent()

    # ---------------------------------------------------------------- settings
    def _fill_model_combo(self) -> None:
        """The method list, grouped (photo, clean images, faces, classical, added), installed ones enabled."""
        current = self.model_combo.currentData()
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        group = None
        order = {"Photo": 0, "Clean images": 1, "Tiny faces": 2, "Classical": 3, "Added": 4}
        for entry in sorted(registry.entries(), key=lambda e: order.get(e.group, 2)):
            if group is not None and entry.group != group:
                self.model_combo.insertSeparator(self.model_combo.count())
            group = entry.group
            installed = entry.installed()
            label = entry.display_name + ("" if installed else " (not installed)")
            self.model_combo.addItem(label, entry.name)
            index = self.model_combo.count() - 1
            self.model_combo.setItemData(index, _model_tooltip(entry), Qt.ItemDataRole.ToolTipRole)
            if not installed:
                self.model_combo.model().item(index).setEnabled(False)  # type: ignore[attr-defined]
        if current is not None and self.model_combo.findData(current) >= 0:
            self.model_combo.setCurrentIndex(self.model_combo.findData(current))
        self.model_combo.blockSignals(False)

    def add_models_dialog(self) -> None:
        """File > Add model…: ncnn .param files (with their .bin) and PyTorch files into the user's models folder."""
        pytorch = " ".join(f"*{s}" for s in registry.USER_MODEL_SUFFIXES if s != ".param")
        files, _ = QFileDialog.getOpenFileNames(
            self, "Add models (ncnn .param with its .bin beside it, or PyTorch .safetensors/.pth)", str(Path.home()),
            f"Models (*.param {pytorch});;ncnn models (*.param);;PyTorch models ({pytorch});;All files (*)")
        if files:
            self.add_models([Path(f) for f in files])

    def add_models(self, files: list[Path]) -> list[str]:
        from srdesk.core.resources import user_models_dir
        from srdesk.engine import user_models

        folder, added = user_models_dir(), []
        for path in files:
            try:
                added.append(user_models.add(folder, path))
            except SrdeskError as exc:
                self.show_error("Could not add the model", str(exc))
        registry.add_user_models(folder)
        self._fill_model_combo()
        if added:
            self.model_combo.setCurrentIndex(self.model_combo.findData(added[-1]))
            self.status_label.setText(f"Added {', '.join(added)}; srdesk-cli eval measures it on the benchmarks")
        return added

    def _bindings(self) -> dict[str, tuple[Any, Any]]:
        """Each remembered setting (srdesk.gui.preferences) and the control that shows it: (get, set)."""

        def combo(box: QComboBox) -> tuple[Any, Any]:
            def select(value: Any) -> None:
                found = box.findData(value)
                if found >= 0:
                    box.setCurrentIndex(found)
            return box.currentData, select

        return {
            "model": (self.model_combo.currentData, self._select_model),
            "scale": (self.scale_spin.value, self.scale_spin.setValue),
            "strength": (self.strength_slider.value, self.strength_slider.setValue),
            "device": combo(self.device_combo),
            "tile": combo(self.tile_combo),
            "samples": (self.samples_spin.value, self.samples_spin.setValue),
            "temperature": (self.temperature_spin.value, self.temperature_spin.setValue),
            "format": combo(self.format_combo),
            "quality": (self.quality_spin.value, self.quality_spin.setValue),
            "before": combo(self.before_combo),
        }

    def _select_model(self, name: str) -> None:
        index = self.model_combo.findData(registry.canonical_name(name) or registry.default_model())
        if index < 0 or not self.model_combo.model().item(index).isEnabled():  # type: ignore[attr-defined]
            index = self.model_combo.findData(registry.default_model())
        self.model_combo.setCurrentIndex(max(0, index))

    def _restore_settings(self) -> None:
        geometry = self.settings.value("window/geometry")
        restored = isinstance(geometry, QByteArray) and self.restoreGeometry(geometry)
        if not restored or self.width() < MIN_RESTORED_SIZE[0] or self.height() < MIN_RESTORED_SIZE[1]:
            self.resize(1280, 800)  # (a window closed while tiny, e.g. offscreen, would leave the photo no room)
        values = preferences.read_all(self.settings.value)
        for name, (_get, set_value) in self._bindings().items():
            set_value(values[name])
        self._update_quality_enabled()

    def save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        for name, (get_value, _set) in self._bindings().items():
            self.settings.setValue(preferences.SETTINGS[name].key, get_value())
        self.settings.sync()

    def _recent(self) -> list[str]:
        value = self.settings.value("files/recent", [])
        if isinstance(value, str):
            return [value]
        return [str(v) for v in value] if isinstance(value, (list, tuple)) else []

    def _remember(self, path: Path) -> None:
        path = Path(path).resolve()  # absolute: Open Recent works whatever folder srdesk starts from
        recent = [str(path)] + [p for p in self._recent() if p != str(path)]
        self.settings.setValue("files/recent", recent[:MAX_RECENT])
        self.settings.setValue("files/last_open_dir", str(path.parent))
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for path in self._recent():
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, p=path: self.open_path(Path(p)))
        self.recent_menu.setEnabled(bool(self._recent()))

    # ----------------------------------------------------------------- settings for jobs
    def enhance_request(self) -> EnhanceRequest:
        """The request the controls describe (the one thing Enhance and batch hand to the engine)."""
        entry = registry.get(self.model_combo.currentData())
        return EnhanceRequest(
            model=entry.name,
            scale=float(self.scale_spin.value()),
            strength=self.strength_slider.value() / 100 if entry.has_strength else None,
            device=self.device_combo.currentData(),
            tile=int(self.tile_combo.currentData()) or None,
            samples=self.samples_spin.value(),
            temperature=self.temperature_spin.value(),
            integer_output=True,  # shown and saved at the photo's own depth: a quarter of float32's memory
        )

    def batch_options(self, out_dir: Path, pattern: str, existing: str = "rename") -> batch.BatchOptions:
        return batch.BatchOptions(out_dir=Path(out_dir), request=self.enhance_request(),
                                  fmt=self.format_combo.currentData() or None, quality=self.quality_spin.value(),
                                  pattern=pattern, existing=existing)

    # ------------------------------------------------------------------ jobs
    def busy(self) -> bool:
        """An enhance or a batch is running (one model job at a time)."""
        return self._job is not None or self.jobs.busy("model")

    # ------------------------------------------------------------------ open
    def open_dialog(self) -> None:
        start = str(self.settings.value("files/last_open_dir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, "Open a photo", start, OPEN_FILTER)
        if path:
            self.open_path(Path(path))

    def open_path(self, path: Path, allow_large: bool = False) -> None:
        path = Path(path)
        size = imageio.declared_size(path)
        if size is not None and not allow_large and self.asked_before_opening(path.name, *size,
                                                                              lambda: self.open_path(path, True)):
            return
        limit = None if allow_large else imageio.DEFAULT_MAX_PIXELS
        self.status_label.setText(f"Opening {path.name}…")

        def work(progress: Any, cancel: threading.Event) -> tuple[LoadedImage, ImagePyramid]:
            # the file's own levels: a quarter of float32's memory
            image = imageio.load(path, max_pixels=limit, levels=True)
            return image, ImagePyramid(to_qimage(image.pixels, image.alpha))

        job = Job(work, f"open {path}")
        job.signals.finished.connect(lambda result: self._on_loaded(path, *result))
        job.signals.failed.connect(lambda message: self.show_error("Could not open the photo", message))
        self.jobs.start(job, "io")

    def _update_output_size(self) -> None:
        """Show the result's size for the current scale, and keep the width box in step."""
        photo = self.session.photo
        if photo is None:
            return
        height, width = photo.image.pixels.shape[:2]
        out_w, out_h = round(width * self.scale_spin.value()), round(height * self.scale_spin.value())
        self.width_spin.blockSignals(True)
        self.width_spin.setValue(out_w)
        self.width_spin.blockSignals(False)
        self.size_label.setText(f"{width}\u00d7{height} \u2192 {out_w}\u00d7{out_h}")

    def _on_width_changed(self, value: int) -> None:
        photo = self.session.photo
        if photo is None or value <= 0:
            return
        scale = value / photo.image.pixels.shape[1]
        self.scale_spin.setValue(min(max(scale, self.scale_spin.minimum()), self.scale_spin.maximum()))
        self._update_output_size()

    def _on_loaded(self, path: Path, image: LoadedImage, original: ImagePyramid) -> None:
        if self._job is not None:  # an Enhance of the previous photo: its result would belong to no photo
            self._job.cancel()
        self.original_image = original
        self.session.open(path, image)
        self.width_spin.setEnabled(True)
        self._update_output_size()
        self._clear_samples()
        self.view.set_images(original, None)
        self.view.fit()
        self._show_box()
        notes = "; ".join(image.meta.notes)
        name = "Pasted picture" if self.is_pasted(path) else path.name
        self.setWindowTitle(f"srdesk \u2014 {name} ({human_size(image)})")
        self.status_label.setText(f"{name}: {human_size(image)}" + (f" ({notes})" if notes else ""))
        if not self.is_pasted(path):  # it lives only as long as the window
            self._remember(path)
        self._update_actions()
        self.imageLoaded.emit()

    # ------------------------------------------------------------------ enhance
    def enhance(self) -> None:
        if self.session.photo is None:
            return
        if self.busy():
            if self.batch_panel.running():
                self.status_label.setText("The batch queue is running; Enhance is available when it has finished")
            return
        photo = self.session.photo
        request = self.enhance_request()
        settings = {"model": request.model, "scale": request.scale}
        before_bicubic = self.before_combo.currentData() == "bicubic"
        entry = registry.get(request.model)
        box = self.session.face_box if entry.sampler else None
        height, width = photo.image.pixels.shape[:2]
        if box is None and regions.needs_a_box(entry.kind, height, width):
            self.show_error(
                "Mark the face first",
                f"{entry.display_name} enlarges tiny faces (up to about "
                f"{regions.SMALL_FACE_PX}x{regions.SMALL_FACE_PX} pixels); on a whole {width}x{height} photo it "
                "would paint face-like noise. Hold Shift and drag a box around a small face, then Enhance; "
                "or pick a photo method.")
            return

        def work(progress: Any, cancel: threading.Event
                 ) -> tuple[list[LoadedImage], list[ImagePyramid], ImagePyramid | None]:
            if box is not None:
                results = regions.enhance_box(request, photo.image, box, progress=progress, cancel=cancel)
            else:
                results = pipeline.run(request, photo.image, progress, cancel)
            before = None
            if before_bicubic:
                smooth = pipeline.run(request.with_(model="bicubic"), photo.image, cancel=cancel)[0]
                before = ImagePyramid(to_qimage(smooth.pixels, smooth.alpha))
            # pyramids are built here, off the GUI thread (a 24 MP result takes ~0.1 s to halve)
            return results, [ImagePyramid(to_qimage(r.pixels, r.alpha)) for r in results], before

        self._job, self._job_kind = Job(work, f"enhance {photo.path}"), "enhance"
        self._job.signals.progress.connect(self._on_progress)
        self._job.signals.finished.connect(
            lambda r, req=request, gen=photo.generation: self._on_enhanced(req, gen, *r))
        self._job.signals.failed.connect(self._on_enhance_failed)
        self._job.signals.cancelled.connect(self._on_cancelled)
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.eta_label.setText("")
        self.status_label.setText(f"Enhancing with {settings['model']} \u00d7{settings['scale']:g}…")
        self._update_actions(running=True)
        self.jobs.start(self._job, "model")

    def preview(self) -> None:
        """Enhance only the part of the photo the view shows (at most PREVIEW_MAX_PIXELS of it), with the
        settings as they are: the pixels the whole photo's result will have there, in seconds."""
        self._start_preview(None)

    def _start_preview(self, region: QRectF | None) -> None:
        """A preview of ``region`` (fractions of the photo), or of the part in view."""
        photo = self.session.photo
        if photo is None or self.busy():
            if self.batch_panel.running():
                self.status_label.setText("The batch queue is running; Preview is available when it has finished")
            return
        request = self.enhance_request()
        entry = registry.get(request.model)
        if entry.sampler:
            self.status_label.setText(f"{entry.display_name} makes a new guess each time: mark a face and Enhance")
            return
        visible = self.view.visible_region() if region is None else region
        if visible.isEmpty():
            self.status_label.setText("No part of the photo is in view: Ctrl+0 fits it")
            return
        height, width = photo.image.pixels.shape[:2]
        box = regions.preview_box(regions.Box(math.floor(visible.left() * width), math.floor(visible.top() * height),
                                              math.ceil(visible.right() * width), math.ceil(visible.bottom() * height)),
                                  height, width)
        region = QRectF(box.left / width, box.top / height, box.width / width, box.height / height)

        def work(progress: Any, cancel: threading.Event) -> tuple[QImage, str]:
            part = regions.enhance_region(request, photo.image, box, progress, cancel)
            return to_qimage(part.pixels, part.alpha), automatic_choice(part.meta.notes)

        self._job, self._job_kind = Job(work, f"preview {photo.path}"), "preview"
        self._job.signals.progress.connect(self._on_progress)
        self._job.signals.finished.connect(
            lambda done, gen=photo.generation: self._on_preview(entry, gen, region, box, *done))
        self._job.signals.failed.connect(self._on_enhance_failed)
        self._job.signals.cancelled.connect(lambda: self._on_preview_cancelled(region))
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.status_label.setText(f"Previewing {box.width}\u00d7{box.height} px with {entry.display_name} "
                                  f"at \u00d7{request.scale:g}…")
        self._update_actions(running=True)
        self.jobs.start(self._job, "model")

    def _on_preview(self, entry: registry.ModelEntry, generation: int, region: QRectF, box: regions.Box,
                    picture: QImage, chose: str = "") -> None:
        self._finish_run()
        if self.session.photo is None or self.session.photo.generation != generation:
            return  # another photo was opened meanwhile
        self.view.set_preview(picture, region, f"Preview: {entry.display_name}")
        self.status_label.setText(f"Preview of {box.width}\u00d7{box.height} px with {entry.display_name}{chose}; "
                                  "Enhance makes the whole photo")
        self.previewReady.emit()

    def _on_preview_cancelled(self, region: QRectF) -> None:
        if self._preview_again:  # cancelled to be made again with newer settings
            self._preview_again = False
            self._finish_run()
            self._start_preview(region)
        else:
            self._on_cancelled()

    def _settings_changed(self, *_args: Any) -> None:
        if self.view.preview() is not None or self._job_kind == "preview":
            self._preview_timer.start()  # (re)started: one remake once the slider or the spin box settles

    def _refresh_preview(self) -> None:
        """The preview, made again of the same part of the photo with the settings as they are now."""
        if self._job is not None:
            if self._job_kind == "preview":
                self._preview_again = True
                self._job.cancel()
            return
        shown = self.view.preview()
        if shown is not None:
            self._start_preview(shown[1])  # the same part of the photo

    def cancel(self) -> None:
        """Cancel the job in front (Esc): the Enhance or the batch the user is waiting on, nothing else."""
        job = self.jobs.cancel_front()
        if job is not None:
            self.status_label.setText("Cancelling…")

    def _on_progress(self, done: int, total: int, seconds_left: float) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.eta_label.setText(format_eta(seconds_left))

    def _finish_run(self) -> None:
        self._job, self._job_kind = None, ""
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self.eta_label.setText("")
        self._update_actions(running=False)

    def _clear_samples(self) -> None:
        self.samples_list.blockSignals(True)
        self.samples_list.clear()
        self.samples_list.blockSignals(False)
        self.samples_list.setVisible(False)

    def _on_enhanced(self, request: EnhanceRequest, generation: int, results: list[LoadedImage],
                     afters: list[ImagePyramid], before: ImagePyramid | None) -> None:
        self._finish_run()
        if not self.session.accept(generation, request, results, afters, before or self.original_image):
            log.info("dropped a result of a photo that is no longer open")
            return
        self.view.set_images(before or self.original_image, afters[0])
        self._show_box()
        self.samples_list.blockSignals(True)
        self.samples_list.clear()
        if len(results) > 1:
            box, photo = self.session.face_box, self.session.photo
            for k, pyramid in enumerate(afters):
                picture = pyramid.levels[-1]
                if box is not None and photo is not None:  # a face box: show the face, not the whole photo
                    full = pyramid.levels[0]
                    ratio = full.width() / photo.image.pixels.shape[1]
                    picture = full.copy(int(box.left * ratio), int(box.top * ratio), int(box.width * ratio),
                                        int(box.height * ratio))
                icon = QIcon(QPixmap.fromImage(picture.scaled(96, 96, Qt.AspectRatioMode.KeepAspectRatio,
                                                              Qt.TransformationMode.SmoothTransformation)))
                QListWidgetItem(icon, f"Sample {k + 1}", self.samples_list)
            self.samples_list.setCurrentRow(0)
        self.samples_list.blockSignals(False)
        self.samples_list.setVisible(len(results) > 1)
        width, height = results[0].size
        chose = automatic_choice(results[0].meta.notes)
        self.status_label.setText(f"Done: {width}\u00d7{height} with {request.model}{chose}. "
                                  "Drag the divider to compare; Ctrl+S saves.")
        self._update_actions()
        self.resultReady.emit()

    def _on_sample_picked(self, row: int) -> None:
        """Show (and save) the sample whose thumbnail was clicked."""
        results = self.session.results
        if results is not None and self.session.select(row):
            self.view.set_images(results.before_view, results.views[row])

    def _on_enhance_failed(self, message: str) -> None:
        self._finish_run()
        self.status_label.setText("Enhance failed")
        name = self.source_path.name if self.source_path else "the photo"
        self.show_error(f"Could not enhance {name}", message)

    def _on_cancelled(self) -> None:
        self._finish_run()
        self.status_label.setText("Cancelled; nothing was saved")
        self.enhanceCancelled.emit()

    def _on_before_changed(self) -> None:
        smooth = self.before_combo.currentData() == "bicubic"
        results, photo = self.session.results, self.session.photo
        if results is not None and photo is not None and self._job is None:
            original, request = self.original_image, results.request

            def work(progress: Any, cancel: threading.Event) -> ImagePyramid | None:
                if not smooth:
                    return original
                enlarged = pipeline.run(request.with_(model="bicubic"), photo.image)[0]
                return ImagePyramid(to_qimage(enlarged.pixels, enlarged.alpha))

            def show(image: ImagePyramid | None, generation: int = photo.generation) -> None:
                current = self.session.results
                if current is not None and current.generation == generation:
                    current.before_view = image
                    self.view.set_images(image, current.views[current.selected])

            job = Job(work, "before view")
            job.signals.finished.connect(show)
            self.jobs.start(job, "io")

    # ------------------------------------------------------------------ save
    def suggested_output(self) -> Path | None:
        photo, results = self.session.photo, self.session.results
        if photo is None or results is None or self.session.saveable() is None:
            return None
        options = batch.BatchOptions(out_dir=photo.path.parent, request=results.request,
                                     fmt=self.format_combo.currentData() or None)
        return batch.output_path(photo.path, options)

    def save_result(self) -> None:
        """Save beside the original under the batch naming pattern (never over anything)."""
        target = self.suggested_output()
        if target is not None and self.photo_is_pasted():
            self.save_result_as()  # a pasted picture has no folder of its own to save beside
        elif target is not None:
            self._save_to(target, overwrite=False)

    def save_result_as(self) -> None:
        target = self.suggested_output()
        if target is None:
            return
        beside = target.parent
        if self.photo_is_pasted():
            beside = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
                          or Path.home())
        start_dir = str(self.settings.value("files/last_save_dir", str(beside)))
        path, _ = QFileDialog.getSaveFileName(self, "Save the enhanced photo", str(Path(start_dir) / target.name),
                                              "PNG (*.png);;JPEG (*.jpg *.jpeg);;WebP (*.webp);;TIFF (*.tif *.tiff)")
        if path:
            self.settings.setValue("files/last_save_dir", str(Path(path).parent))
            # the dialog already asked about replacing an existing file
            self._save_to(Path(path), overwrite=True)

    def _save_to(self, target: Path, overwrite: bool) -> None:
        result, quality, original = self.session.saveable(), self.quality_spin.value(), self.source_path
        if result is None:
            return

        def work(progress: Any, cancel: threading.Event) -> Path:
            return imageio.save(result, target, quality=quality, overwrite=overwrite, protect=original)

        job = Job(work, f"save {target}")
        job.signals.finished.connect(self._on_saved)
        job.signals.failed.connect(lambda message: self.show_error("Could not save the photo", message))
        self.status_label.setText(f"Saving {target.name}…")
        self.jobs.start(job, "io")

    def _on_saved(self, path: Path) -> None:
        self.status_label.setText(f"Saved {path}")
        self.saved.emit(path)

    # ------------------------------------------------------------------ batch
    def batch_dialog(self) -> None:
        """Choose photos (several at once) for the batch queue, or a whole folder from the dialog's button."""
        start = str(self.settings.value("files/last_open_dir", str(Path.home())))
        dialog = QFileDialog(self, "Choose photos (or a folder) for the batch", start, OPEN_FILTER)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        folder_button = QPushButton("Whole folder…", dialog)

        def choose_folder() -> None:
            folder = QFileDialog.getExistingDirectory(self, "Choose a folder of photos", start)
            if folder:
                dialog.reject()
                self.add_to_batch([folder])

        folder_button.clicked.connect(choose_folder)
        layout = dialog.layout()
        if layout is not None:
            layout.addWidget(folder_button)
        if dialog.exec() and dialog.selectedFiles():
            self.add_to_batch(dialog.selectedFiles())

    def add_to_batch(self, paths: list[str]) -> int:
        if not self.batch_panel.isVisible():
            self.batch_panel.setVisible(True)
            total = max(1, self.splitter.height())
            self.splitter.setSizes([int(total * 0.55), int(total * 0.45)])
            if self.view._fit:  # the view got smaller: keep the photo centred in what is left
                QTimer.singleShot(0, self.view.fit)
        added = self.batch_panel.add(paths)
        self.status_label.setText(f"{added} photos added to the batch queue; press Start")
        return added

    def _on_batch_progress(self, done: int, total: int, eta: str) -> None:
        """The status bar follows the queue while no Enhance of its own is running."""
        if self._job is not None:
            return
        self.status_label.setText(f"Batch: {done} of {total} photos done")
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setVisible(done < total)
        self.eta_label.setText(eta)
        self._update_actions()

    def _on_batch_finished(self, report: batch.BatchReport) -> None:
        if self._job is None:
            self.progress.setVisible(False)
            self.eta_label.setText("")
        self.status_label.setText(f"Batch: {report.summary()}")
        self._update_actions()

    # ------------------------------------------------------------------ drops
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        event.acceptProposedAction()
        self.open_mime(event.mimeData())

    def handle_drop(self, paths: list[str]) -> None:
        """One file opens it; several files or any folder go to the batch queue."""
        if len(paths) == 1 and Path(paths[0]).is_file():
            self.open_path(Path(paths[0]))
        elif paths:
            self.add_to_batch(paths)

    def open_mime(self, data: QMimeData) -> bool:
        """What a drop or Paste carries: files (as a drop of them), else picture data, else a path as text."""
        paths = [u.toLocalFile() for u in data.urls() if u.isLocalFile()] if data.hasUrls() else []
        if paths:
            self.handle_drop(paths)
            return True
        if data.hasImage():
            image = data.imageData()
            if isinstance(image, QImage) and not image.isNull():
                self.open_picture(image)
                return True
        text = data.text().strip() if data.hasText() else ""
        if text and "\n" not in text and Path(text).expanduser().exists():
            self.handle_drop([str(Path(text).expanduser())])
            return True
        return False

    # ------------------------------------------------------------------ clipboard
    def paste(self) -> None:
        """Ctrl+V: a copied picture (a screenshot, an image from a web page) opens as the photo; copied files
        open as if dropped."""
        if not self.open_mime(QGuiApplication.clipboard().mimeData()):
            self.status_label.setText("Nothing to paste: copy a picture, or a photo file, first")

    def copy_result(self) -> None:
        """Ctrl+C: the result on screen (the picked sample), 8 bits, with its transparency."""
        results = self.session.results
        if results is None or self.session.saveable() is None:
            self.status_label.setText("Nothing to copy yet: Enhance first")
            return
        picture = results.views[results.selected].levels[0]
        QGuiApplication.clipboard().setImage(picture)
        self.status_label.setText(f"Copied the result ({picture.width()}\u00d7{picture.height()})")

    def is_pasted(self, path: Path) -> bool:
        return self._paste_dir is not None and Path(path).parent == self._paste_dir

    def photo_is_pasted(self) -> bool:
        """The photo on screen came from the clipboard (or a dropped picture): it has no folder of its own."""
        return self.source_path is not None and self.is_pasted(self.source_path)

    def asked_before_opening(self, name: str, width: int, height: int, go_on: Callable[[], None]) -> bool:
        """A picture over the pixel limit is opened only when the person says so: True when a question was
        put (``go_on`` runs on Open; nothing happens on Cancel), False when the picture is within the limit."""
        limit = imageio.DEFAULT_MAX_PIXELS
        if width * height <= limit:
            return False
        box = QMessageBox(QMessageBox.Icon.Question, "A very large picture",
                          f"{name} is {width}\u00d7{height} pixels ({width * height / 1e6:,.0f} megapixels), more "
                          f"than the {limit / 1e6:g} megapixels srdesk opens without asking. A picture this large "
                          "needs a lot of memory, and enhancing it takes a long time.\n\nOpen it anyway?",
                          QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel, self)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        open_button = box.button(QMessageBox.StandardButton.Open)
        box.buttonClicked.connect(lambda button: go_on() if button is open_button
                                  else self.status_label.setText(f"{name} was not opened"))
        box.open()
        self.question_box = box
        self.status_label.setText(f"{name} is very large: open it anyway?")
        return True

    def open_picture(self, image: QImage, allow_large: bool = False) -> None:
        """Picture data without a file: written losslessly (PNG) to a folder that lives as long as the
        window, then opened like any photo (the pipeline, the before view and Save work on files)."""
        if not allow_large and self.asked_before_opening("The pasted picture", image.width(), image.height(),
                                                         lambda: self.open_picture(image, True)):
            return  # asked before it is written
        if self._paste_dir is None:
            self._paste_dir = Path(tempfile.mkdtemp(prefix="srdesk-pasted-")).resolve()
        self._pasted += 1
        path = self._paste_dir / f"pasted-{self._pasted}.png"
        pixels, alpha = arrays_from_qimage(image)

        def work(progress: Any, cancel: threading.Event) -> Path:
            return imageio.save(LoadedImage(pixels, alpha, imageio.ImageMeta()), path)  # 8-bit, as copied

        job = Job(work, "paste")
        job.signals.finished.connect(lambda written: self.open_path(written, allow_large))
        job.signals.failed.connect(lambda message: self.show_error("Could not open the pasted picture", message))
        self.status_label.setText("Opening the pasted picture…")
        self.jobs.start(job, "io")

    # ------------------------------------------------------------------ misc
    def show_error(self, title: str, message: str) -> None:
        log.warning("%s: %s", title, message)
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.open()  # not exec(): the event loop (and any running job) keeps going
        self.error_box = box
        self.status_label.setText(message)
        self.errorShown.emit(message)

    def _on_model_changed(self) -> None:
        name = self.model_combo.currentData()
        if not name:
            return
        entry = registry.get(name)
        self.model_combo.setToolTip(_model_tooltip(entry))
        tip = ""
        if entry.automatic and entry.choices_for(2) != entry.choices_for(4):
            tip = (f"{entry.display_name} enlarges with the \u00d72 models ({', '.join(entry.choices_for(2))}) at "
                   f"\u00d72 and below, with the \u00d74 ones ({', '.join(entry.choices_for(4))}) above; other "
                   "scales are derived")
        elif entry.learned and entry.scale:
            tip = f"{entry.name} works at \u00d7{entry.scale}; other scales are derived"
        self.scale_spin.setToolTip(tip)
        rows = [(w, entry.sampler) for w in self.sampler_rows] + [(self.strength_slider, entry.has_strength)]
        for widget, shown in rows:
            widget.setVisible(shown)
            label = self._form.labelForField(widget)
            if label is not None:
                label.setVisible(shown)

    def _update_quality_enabled(self) -> None:
        self.quality_spin.setEnabled(self.format_combo.currentData() in ("", "jpg", "webp"))

    def _on_session(self, what: str) -> None:
        if what == "box":
            self._show_box()

    def _show_box(self) -> None:
        """The marked face, outlined in the view's current frame (the photo's or the enlarged result's)."""
        box, photo = self.session.face_box, self.session.photo
        frame = self.view.frame_size()
        if box is None or photo is None or frame.width() <= 0:
            self.view.set_box(None)
            return
        ratio = frame.width() / photo.image.pixels.shape[1]
        self.view.set_box(QRectF(box.left * ratio, box.top * ratio, box.width * ratio, box.height * ratio))

    def _on_box_drawn(self, rect: Any) -> None:
        """A Shift+drag box on the view, in the photo's own pixels (the view may show the enlarged result)."""
        photo = self.session.photo
        frame = self.view.frame_size()
        if photo is None or frame.width() <= 0:
            return
        _height, width = photo.image.pixels.shape[:2]
        ratio = width / frame.width()
        box = self.session.mark_face(regions.Box(int(rect.left() * ratio), int(rect.top() * ratio),
                                                 round(rect.right() * ratio), round(rect.bottom() * ratio)))
        if box is not None:
            self.status_label.setText(f"Face marked: {box.width}x{box.height} px at ({box.left}, {box.top}). "
                                      "Enhance with the faces model enlarges it in the photo.")

    def _on_view_mode(self, mode: str) -> None:
        """Keep the radio buttons true to what the view shows (T flips to a single image)."""
        for button, name in ((self.mode_slider, "slider"), (self.mode_side, "side")):
            button.blockSignals(True)
            button.setChecked(mode == name)
            button.blockSignals(False)
        if mode in ("before", "after"):
            group = self.mode_slider.group()
            if group is not None:
                group.setExclusive(False)
            self.mode_slider.setChecked(False)
            self.mode_side.setChecked(False)
            if group is not None:
                group.setExclusive(True)

    def _update_actions(self, running: bool | None = None) -> None:
        running = self._job is not None if running is None else running
        has_source, has_result = self.source is not None, self.result is not None
        self.enhance_button.setEnabled(has_source and not running)
        name = self.model_combo.currentData()
        can_preview = has_source and not running and not (name and registry.get(name).sampler)
        self.preview_button.setEnabled(can_preview)
        self.preview_action.setEnabled(can_preview)
        self.enhance_action.setEnabled(has_source and not running)
        self.save_button.setEnabled(has_result and not running)
        self.save_action.setEnabled(has_result)
        self.save_as_action.setEnabled(has_result)
        self.copy_action.setEnabled(has_result)
        self.cancel_action.setEnabled(running)

    def detect_devices(self) -> None:
        """Add GPUs to the device list once torch is loaded (in the background: it is slow to import)."""
        def work(progress: Any, cancel: threading.Event) -> list[tuple[str, str]]:
            from srdesk.core.devices import available_devices

            return [(d.name, d.description) for d in available_devices()]

        job = Job(work, "device detection")
        job.signals.finished.connect(self._on_devices)
        self.jobs.start(job, "io")

    def _on_devices(self, devices: list[tuple[str, str]]) -> None:
        device = preferences.SETTINGS["device"]
        stored = preferences.coerce(device, self.settings.value(device.key))
        for name, description in devices:
            label = {"cuda": "GPU (CUDA)", "mps": "GPU (Apple)", "cpu": "CPU"}.get(name, name)
            index = self.device_combo.findData(name)
            if index < 0:
                self.device_combo.addItem(label, name)
                index = self.device_combo.count() - 1
            self.device_combo.setItemData(index, description, Qt.ItemDataRole.ToolTipRole)
        names = {"cuda": "GPU", "mps": "Apple GPU", "cpu": "CPU"}
        self.device_combo.setItemText(0, f"Automatic ({names.get(devices[0][0], devices[0][0])})" if devices
                                      else "Automatic")
        if devices:
            self.device_combo.setItemData(0, devices[0][1], Qt.ItemDataRole.ToolTipRole)
        if stored is not None and self.device_combo.findData(stored) >= 0:
            self.device_combo.setCurrentIndex(self.device_combo.findData(stored))

    def _about(self) -> None:
        from srdesk import __version__

        QMessageBox.about(self, "About srdesk",
                          f"srdesk {__version__}\nMake photos larger and sharper with learned super-resolution, "
                          "on your own machine.")

    def closeEvent(self, event: QCloseEvent) -> None:
        self.jobs.cancel_all()
        self.save_settings()
        self.jobs.wait(5000)
        if self._paste_dir is not None:
            shutil.rmtree(self._paste_dir, ignore_errors=True)
        super().closeEvent(event)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if not getattr(self, "_devices_requested", False):
            self._devices_requested = True
            QTimer.singleShot(0, self.detect_devices)
