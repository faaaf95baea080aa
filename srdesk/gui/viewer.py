"""The compare view: before and after at the same zoom and pan, split by a slider.

One widget paints both images through one view transform (zoom, and the
image point at the widget's centre), so zoom and pan are shared by
construction. The "before" image is drawn at the "after" image's size. Modes:

* ``slider``: after everywhere, before to the left of a draggable divider;
* ``side``: the left and right halves each show the same image region;
* ``before`` / ``after``: one image only (the toggle key flips them).

A preview (``set_preview``) is a result of one part of the photo: the after
side shows it where it lies, over the full result when there is one, else
over the dimmed, smoothly enlarged original, outlined and labelled.

A magnifier lens (``set_lens``) follows the cursor and shows before (left
half) and after (right half) of the point under it at 1:1 or closer, over
whatever the view shows.

Zooming out paints smoothly, zooming in past 100 % paints crisp pixels.
Only the visible part of an image is ever drawn, from a cached, reduced
copy when zoomed far out, so 24 MP images stay responsive.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

MODES = ("slider", "side", "before", "after")
MIN_ZOOM, MAX_ZOOM = 1 / 64, 64.0
SLIDER_GRAB_PX = 8
LENS_RADIUS_PX = 110


class ImagePyramid:
    """An image and its halvings, so zoomed-out painting never scales 24 MP per frame.

    Building it scales the whole image: do that in a worker thread (QImage is
    safe to use outside the GUI thread) and hand the finished pyramid over.
    """

    def __init__(self, image: QImage) -> None:
        self.levels = [image]
        while self.levels[-1].width() > 1024 or self.levels[-1].height() > 1024:
            last = self.levels[-1]
            self.levels.append(last.scaled(max(1, last.width() // 2), max(1, last.height() // 2),
                                           Qt.AspectRatioMode.IgnoreAspectRatio,
                                           Qt.TransformationMode.SmoothTransformation))

    def for_scale(self, screen_px_per_image_px: float) -> QImage:
        """The smallest level still at least as detailed as the screen needs."""
        level, factor = 0, 1.0
        while level + 1 < len(self.levels) and screen_px_per_image_px * factor * 2 <= 1.0:
            level += 1
            factor *= 2
        return self.levels[level]


def _as_pyramid(image: QImage | ImagePyramid | None) -> ImagePyramid | None:
    if image is None or isinstance(image, ImagePyramid):
        return image
    return None if image.isNull() else ImagePyramid(image)


class CompareView(QWidget):
    zoomChanged = Signal(float)
    sliderMoved = Signal(float)
    modeChanged = Signal(str)
    boxDrawn = Signal(QRectF)  # Shift+drag: a rectangle in frame pixels (e.g. around a small face)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAcceptDrops(False)  # the main window handles drops
        self._before: ImagePyramid | None = None
        self._after: ImagePyramid | None = None
        self._size = QSize()  # the frame both images are drawn into (the result's pixel size)
        self.zoom = 1.0  # widget (logical) pixels per frame pixel; display_zoom() counts the screen's own pixels
        self.centre = QPointF(0, 0)  # frame point shown at the widget's centre
        self.slider = 0.5  # fraction of the widget width
        self.mode = "slider"
        self.before_smooth = False  # draw the enlarged original smoothly instead of as pixels
        self._drag: str | None = None
        self._drag_origin = QPointF()
        self._drag_centre = QPointF()
        self._fit = True
        self.box: QRectF | None = None  # a marked rectangle in frame pixels, outlined over the images
        self._box_origin = QPointF()
        self.lens = False  # the magnifier lens follows the cursor
        self._cursor: QPointF | None = None
        # (picture, where it lies as fractions of the frame, label): a result of part of the photo
        self._preview: tuple[QImage, QRectF, str] | None = None
        self._painted_ratio = 1.0  # the screen density of the last paint

    # -- content ---------------------------------------------------------------
    def set_images(self, before: QImage | ImagePyramid | None, after: QImage | ImagePyramid | None) -> None:
        """Show ``before`` (e.g. the original) stretched to ``after``'s size; either may be None.

        Pass ready :class:`ImagePyramid` objects for large images: a bare QImage
        is turned into one here, on the GUI thread.
        """
        had_result = self._after is not None
        self._preview = None
        self._before = _as_pyramid(before)
        self._after = _as_pyramid(after)
        keep_view = had_result and self._after is not None and self._after.levels[0].size() == self._size
        shown = self._after if self._after is not None else self._before
        frame = shown.levels[0] if shown is not None else None
        new_size = frame.size() if frame is not None else QSize()
        if not keep_view:
            old = self._size
            self._size = new_size
            if old.isValid() and new_size.isValid() and old.width() > 0:
                # keep the same part of the photo in view when the result replaces the original
                ratio = new_size.width() / old.width()
                self.centre = QPointF(self.centre.x() * ratio, self.centre.y() * ratio)
                self.zoom = max(MIN_ZOOM, min(MAX_ZOOM, self.zoom / ratio))
                if self._fit:
                    self.fit()
                else:
                    self.zoomChanged.emit(self.display_zoom())
            else:
                self.fit()
        self.update()

    def after_image(self) -> QImage | None:
        return self._after.levels[0] if self._after is not None else None

    def after_pyramid(self) -> ImagePyramid | None:
        return self._after

    def has_result(self) -> bool:
        """Something to compare: a result (or a preview) and the original."""
        return (self._after is not None or self._preview is not None) and self._before is not None

    def set_preview(self, picture: QImage | None, region: QRectF | None = None, label: str = "Preview") -> None:
        """Show ``picture``, a result of part of the photo, where it lies (``region``: fractions of the frame)
        on the after side; None removes it. Showing new images removes it too."""
        self._preview = None if picture is None or region is None else (picture, QRectF(region), label)
        self.update()

    def preview(self) -> tuple[QImage, QRectF, str] | None:
        return self._preview

    def visible_region(self) -> QRectF:
        """The part of the frame the view shows (one half, side by side), as fractions of the frame."""
        if not self._size.isValid() or self._size.isEmpty():
            return QRectF()
        pane = self.panes()[0][1]
        frame = self.frame_rect_in(pane)
        shown = frame.intersected(pane)
        return QRectF((shown.left() - frame.left()) / frame.width(), (shown.top() - frame.top()) / frame.height(),
                      shown.width() / frame.width(), shown.height() / frame.height())

    def frame_size(self) -> QSize:
        return QSize(self._size)

    # -- view ------------------------------------------------------------------
    def view_size(self) -> tuple[float, float]:
        """The area one image is shown in: half the widget side by side, else all of it."""
        width = self.width() / 2 if self.mode == "side" else self.width()
        return width, float(self.height())

    def fit(self) -> None:
        if not self._size.isValid() or self._size.isEmpty():
            return
        self._fit = True
        width, height = self.view_size()
        self.zoom = min(width / self._size.width(), height / self._size.height(), MAX_ZOOM)
        self.centre = QPointF(self._size.width() / 2, self._size.height() / 2)
        self.zoomChanged.emit(self.display_zoom())
        self.update()

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom keeping the frame point under ``anchor`` (widget coordinates) where it is."""
        zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom))
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        fixed = self.widget_to_frame(anchor)
        self.zoom = zoom
        self._fit = False
        offset = (anchor - QPointF(self.width() / 2, self.height() / 2)) / zoom
        self.centre = fixed - offset
        self.zoomChanged.emit(self.display_zoom())
        self.update()

    def pixel_ratio(self) -> float:
        """Screen pixels per widget pixel: 2 on a "Retina" / 200 % display, 1.5 at 150 %."""
        return float(self.devicePixelRatioF()) or 1.0

    def display_zoom(self) -> float:
        """Screen pixels per frame pixel: what "100 %" means on any display (one image pixel, one screen pixel)."""
        return self.zoom * self.pixel_ratio()

    def actual_size(self) -> None:
        """100 %: one frame pixel on one pixel of the screen (half a widget pixel on a 200 % display)."""
        self.set_zoom(1.0 / self.pixel_ratio())

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        self.set_zoom(self.zoom * factor, anchor)

    def pan_by(self, dx: float, dy: float) -> None:
        self._fit = False
        self.centre = QPointF(self.centre.x() - dx / self.zoom, self.centre.y() - dy / self.zoom)
        self.update()

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown compare mode {mode!r}")
        side_changed = (mode == "side") != (self.mode == "side")
        self.mode = mode
        if side_changed and self._fit:
            self.fit()  # each half is its own view: fitting depends on the mode
        self.update()
        self.modeChanged.emit(mode)

    def toggle_before_after(self) -> None:
        self.set_mode("before" if self.mode != "before" else "after")

    def set_slider(self, fraction: float) -> None:
        self.slider = max(0.0, min(1.0, fraction))
        self.sliderMoved.emit(self.slider)
        self.update()

    def set_box(self, box: QRectF | None) -> None:
        self.box = QRectF(box) if box is not None else None
        self.update()

    def set_lens(self, on: bool) -> None:
        self.lens = on
        self.update()

    def lens_zoom(self) -> float:
        """Widget pixels per frame pixel inside the lens: one screen pixel each (1:1), or twice the view's zoom
        when that is closer."""
        return min(MAX_ZOOM, max(1.0 / self.pixel_ratio(), 2 * self.zoom))

    def set_before_smooth(self, smooth: bool) -> None:
        self.before_smooth = smooth
        self.update()

    # -- geometry --------------------------------------------------------------
    def _pane_centre(self, pane: QRectF) -> QPointF:
        return pane.center()

    def widget_to_frame(self, point: QPointF, pane: QRectF | None = None) -> QPointF:
        pane = pane or QRectF(self.rect())
        return self.centre + (point - self._pane_centre(pane)) / self.zoom

    def frame_rect_in(self, pane: QRectF) -> QRectF:
        """Where the whole frame lands on screen when painted in ``pane``."""
        top_left = self._pane_centre(pane) - self.centre * self.zoom
        return QRectF(top_left.x(), top_left.y(), self._size.width() * self.zoom, self._size.height() * self.zoom)

    def panes(self) -> list[tuple[str, QRectF, QRectF]]:
        """(which image, view rectangle, clip rectangle) in paint order.

        The view rectangle positions the frame (its centre shows ``self.centre``);
        the clip rectangle is the part of the widget the image may cover. In
        slider mode both images share the whole widget as their view and only
        the clip differs, so before and after line up pixel for pixel across
        the divider; side by side, each half is a view of its own.
        """
        full = QRectF(self.rect())
        if self.mode == "side":
            left = QRectF(0, 0, full.width() / 2, full.height())
            right = QRectF(full.width() / 2, 0, full.width() / 2, full.height())
            return [("before", left, left), ("after", right, right)]
        if self.mode in ("before", "after"):
            return [(self.mode, full, full)]
        if self._after is None and self._preview is None:
            return [("before", full, full)]
        split = full.width() * self.slider
        return [("after", full, full), ("before", full, QRectF(0, 0, split, full.height()))]

    def image_at(self, point: QPointF) -> str:
        """Which image is painted at a widget point: "before", "after" or ""."""
        name = ""
        for which, _view, clip in self.panes():
            if clip.contains(point):
                name = which
        return name

    # -- painting --------------------------------------------------------------
    def _draw(self, painter: QPainter, pyramid: ImagePyramid, view: QRectF, pane: QRectF, smooth: bool) -> None:
        target = self.frame_rect_in(view)
        image_width = pyramid.levels[0].width()
        # the painted device's own pixels (a high-density screen has more than the widget's coordinates)
        screen_per_image_px = target.width() * painter.device().devicePixelRatioF() / max(1, image_width)
        level = pyramid.for_scale(screen_per_image_px)
        painter.save()
        painter.setClipRect(pane, Qt.ClipOperation.IntersectClip)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth or screen_per_image_px < 1.0)
        visible = target.intersected(pane)
        if not visible.isEmpty():
            # map the visible screen rectangle back to source pixels of this level
            sx = level.width() / target.width()
            sy = level.height() / target.height()
            source = QRectF((visible.left() - target.left()) * sx, (visible.top() - target.top()) * sy,
                            visible.width() * sx, visible.height() * sy)
            # whole source pixels only, so crisp zoomed-in pixels stay aligned
            left, top = int(source.left()), int(source.top())
            right = min(level.width(), int(source.right()) + 1)
            bottom = min(level.height(), int(source.bottom()) + 1)
            src = QRectF(left, top, right - left, bottom - top)
            dst = QRectF(target.left() + left / sx, target.top() + top / sy, src.width() / sx, src.height() / sy)
            painter.drawImage(dst, level, src)
        painter.restore()

    def _draw_side(self, painter: QPainter, which: str, view: QRectF, pane: QRectF, lens: bool = False) -> None:
        """One side in ``pane``: the before image, or the after image with the preview over it."""
        pyramid = self._before if which == "before" else self._after
        base = pyramid or self._after or self._before
        if base is not None:
            stand_in = which == "after" and pyramid is None  # the original, where no result has been made yet
            smooth = not lens and ((which == "before" and self.before_smooth) or stand_in)
            self._draw(painter, base, view, pane, smooth=smooth)
        if which != "after" or self._preview is None:
            return
        picture, region, _label = self._preview
        frame = self.frame_rect_in(view)
        patch = QRectF(frame.left() + region.left() * frame.width(), frame.top() + region.top() * frame.height(),
                       region.width() * frame.width(), region.height() * frame.height())
        painter.save()
        painter.setClipRect(pane, Qt.ClipOperation.IntersectClip)
        if self._after is None and not lens:  # the original stands in around the preview: dim it
            around = QPainterPath()
            around.addRect(frame.intersected(pane))
            inside = QPainterPath()
            inside.addRect(patch)
            painter.fillPath(around.subtracted(inside), QColor(0, 0, 0, 120))
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, patch.width() < picture.width())
        painter.drawImage(patch, picture)
        if not lens:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(QColor(255, 255, 255, 210), 1, Qt.PenStyle.DashLine))
            painter.drawRect(patch)
        painter.restore()

    def _preview_label(self, painter: QPainter, view: QRectF, pane: QRectF) -> None:
        """The preview's name at its top left corner, where that is on the after side."""
        if self._preview is None:
            return
        _picture, region, label = self._preview
        frame = self.frame_rect_in(view)
        corner = QPointF(frame.left() + region.left() * frame.width() + 6,
                         frame.top() + region.top() * frame.height() + 6)
        corner = QPointF(max(corner.x(), pane.left() + 6), max(corner.y(), pane.top() + 36))
        if pane.contains(corner):
            self._label(painter, corner, label)

    def paintEvent(self, event: QPaintEvent) -> None:
        if self.pixel_ratio() != self._painted_ratio:  # moved to a screen of another density: the zoom shown changed
            self._painted_ratio = self.pixel_ratio()
            self.zoomChanged.emit(self.display_zoom())
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().color(self.backgroundRole()).darker(115))
        if not self._size.isValid():
            painter.setPen(self.palette().color(self.foregroundRole()))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter,
                             "Open a photo (Ctrl+O) or drop photos and folders here")
            return
        for which, view, clip in self.panes():
            self._draw_side(painter, which, view, clip)
        if self.mode == "slider" and self.has_result():
            x = self.width() * self.slider
            painter.setPen(QPen(QColor(255, 255, 255, 230), 2))
            painter.drawLine(QPointF(x, 0), QPointF(x, self.height()))
            painter.setBrush(QColor(255, 255, 255, 230))
            painter.drawEllipse(QPointF(x, self.height() / 2), 9, 9)
            self._label(painter, QPointF(8, 8), "Before")
            self._label(painter, QPointF(self.width() - 60, 8), "After")
            self._preview_label(painter, QRectF(self.rect()), QRectF(self.width() * self.slider, 0,
                                                                      self.width(), self.height()))
        elif self.mode == "side" and self.has_result():
            painter.setPen(QPen(QColor(255, 255, 255, 200), 1))
            painter.drawLine(QPointF(self.width() / 2, 0), QPointF(self.width() / 2, self.height()))
            self._label(painter, QPointF(8, 8), "Before")
            self._label(painter, QPointF(self.width() / 2 + 8, 8), "After")
            right = QRectF(self.width() / 2, 0, self.width() / 2, self.height())
            self._preview_label(painter, right, right)
        elif self.mode in ("before", "after") and self.has_result():
            self._label(painter, QPointF(8, 8), self.mode.capitalize())
            if self.mode == "after":
                self._preview_label(painter, QRectF(self.rect()), QRectF(self.rect()))
        if self.box is not None:
            view = self.panes()[0][1]
            frame = self.frame_rect_in(view)
            scale = frame.width() / max(1, self._size.width())
            outline = QRectF(frame.left() + self.box.left() * scale, frame.top() + self.box.top() * scale,
                             self.box.width() * scale, self.box.height() * scale)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(QColor(0, 0, 0, 200), 3))
            painter.drawRect(outline)
            painter.setPen(QPen(QColor(255, 220, 0), 1.5, Qt.PenStyle.DashLine))
            painter.drawRect(outline)
        if self.lens and self._cursor is not None:
            self._draw_lens(painter, self._cursor)

    def _draw_lens(self, painter: QPainter, at: QPointF) -> None:
        """Before | after of the frame point under ``at``, magnified, in a circle around it."""
        view = next((v for _which, v, clip in self.panes() if clip.contains(at)), QRectF(self.rect()))
        point = self.widget_to_frame(at, view)
        saved_zoom, saved_centre = self.zoom, self.centre
        self.zoom, self.centre = self.lens_zoom(), point
        radius = LENS_RADIUS_PX
        lens_view = QRectF(at.x() - radius, at.y() - radius, 2 * radius, 2 * radius)
        painter.save()
        circle = QPainterPath()
        circle.addEllipse(at, radius, radius)
        painter.setClipPath(circle)
        painter.fillRect(lens_view, QColor(40, 40, 40))
        halves = [("before", QRectF(lens_view.left(), lens_view.top(), radius, 2 * radius)),
                  ("after", QRectF(at.x(), lens_view.top(), radius, 2 * radius))]
        for which, half in halves:
            self._draw_side(painter, which, lens_view, half, lens=True)
        painter.restore()
        self.zoom, self.centre = saved_zoom, saved_centre
        painter.setPen(QPen(QColor(255, 255, 255, 230), 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(at, radius, radius)
        painter.drawLine(QPointF(at.x(), at.y() - radius), QPointF(at.x(), at.y() + radius))
        # labels near the rim, out of the way of what is being looked at
        self._label(painter, QPointF(at.x() - 62, at.y() + radius - 44), "Before")
        self._label(painter, QPointF(at.x() + 8, at.y() + radius - 44), "After")

    def _label(self, painter: QPainter, at: QPointF, text: str) -> None:
        metrics = painter.fontMetrics()
        box = QRectF(at.x(), at.y(), metrics.horizontalAdvance(text) + 12, metrics.height() + 6)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 150))
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    # -- interaction -----------------------------------------------------------
    def _near_slider(self, x: float) -> bool:
        return self.mode == "slider" and self.has_result() and abs(x - self.width() * self.slider) <= SLIDER_GRAB_PX

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        pos = event.position()
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier and self._size.isValid():
            self._drag = "box"
            self._box_origin = self._frame_point(pos)
            self.set_box(QRectF(self._box_origin, self._box_origin))
            self.setCursor(Qt.CursorShape.CrossCursor)
            return
        self._drag = "slider" if self._near_slider(pos.x()) else "pan"
        self._drag_origin = pos
        self._drag_centre = QPointF(self.centre)
        self.setCursor(Qt.CursorShape.SplitHCursor if self._drag == "slider" else Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        self._cursor = pos
        if self.lens:
            self.update()
        if self._drag == "box":
            self.set_box(QRectF(self._box_origin, self._frame_point(pos)).normalized())
        elif self._drag == "slider":
            self.set_slider(pos.x() / max(1, self.width()))
        elif self._drag == "pan":
            delta = (pos - self._drag_origin) / self.zoom
            self._fit = False
            self.centre = self._drag_centre - delta
            self.update()
        else:
            self.setCursor(Qt.CursorShape.SplitHCursor if self._near_slider(pos.x()) else Qt.CursorShape.OpenHandCursor)

    def leaveEvent(self, event: object) -> None:
        self._cursor = None
        if self.lens:
            self.update()

    def move_lens_to(self, point: QPointF) -> None:
        """Place the lens as if the cursor were at ``point`` (keyboard use, tests)."""
        self._cursor = QPointF(point)
        self.update()

    def _frame_point(self, pos: QPointF) -> QPointF:
        """The frame pixel under a widget point, clamped to the frame."""
        view = next((v for _which, v, clip in self.panes() if clip.contains(pos)), QRectF(self.rect()))
        point = self.widget_to_frame(pos, view)
        return QPointF(min(max(point.x(), 0.0), self._size.width()), min(max(point.y(), 0.0), self._size.height()))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag == "box" and self.box is not None:
            if self.box.width() >= 2 and self.box.height() >= 2:
                self.boxDrawn.emit(QRectF(self.box))
            else:
                self.set_box(None)
        self._drag = None
        self.setCursor(Qt.CursorShape.OpenHandCursor)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            anchor = event.position()
            if self.mode == "side":  # zoom around the same frame point in either half
                half = self.width() / 2
                pane = QRectF(0, 0, half, self.height()) if anchor.x() < half else QRectF(half, 0, half, self.height())
                anchor = anchor - pane.center() + QPointF(self.width() / 2, self.height() / 2)
            self.zoom_by(1.25**steps, anchor)

    def resizeEvent(self, event: object) -> None:
        if self._fit:
            self.fit()
