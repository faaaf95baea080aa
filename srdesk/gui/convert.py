"""numpy <-> QImage, always as owned copies (safe to hand between threads)."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from srdesk.core.imageio import to_uint8


def to_qimage(pixels: np.ndarray, alpha: np.ndarray | None = None) -> QImage:
    """float (H, W, 3) in [0, 1] or uint8/uint16 pixels (+ optional (H, W) alpha of either kind)
    -> 8-bit QImage that owns its pixels."""
    rgb = to_uint8(pixels)
    data = rgb if alpha is None else np.concatenate([rgb, to_uint8(alpha)[:, :, None]], axis=2)
    data = np.ascontiguousarray(data)
    height, width, depth = data.shape
    fmt = QImage.Format.Format_RGB888 if depth == 3 else QImage.Format.Format_RGBA8888
    return QImage(data.data, width, height, width * depth, fmt).copy()


def from_qimage(image: QImage) -> np.ndarray:
    """QImage -> uint8 (H, W, 3) RGB array (a copy)."""
    converted = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height = converted.width(), converted.height()
    buffer = np.frombuffer(converted.constBits(), dtype=np.uint8, count=converted.sizeInBytes())
    return buffer.reshape(height, converted.bytesPerLine())[:, : width * 3].reshape(height, width, 3).copy()


def arrays_from_qimage(image: QImage) -> tuple[np.ndarray, np.ndarray | None]:
    """QImage -> (uint8 (H, W, 3) RGB, uint8 (H, W) alpha or None), copies; an alpha that is opaque
    everywhere is None (a pasted screenshot often comes as ARGB with nothing transparent)."""
    if not image.hasAlphaChannel():
        return from_qimage(image), None
    converted = image.convertToFormat(QImage.Format.Format_RGBA8888)  # straight (not premultiplied) alpha
    width, height = converted.width(), converted.height()
    buffer = np.frombuffer(converted.constBits(), dtype=np.uint8, count=converted.sizeInBytes())
    rgba = buffer.reshape(height, converted.bytesPerLine())[:, : width * 4].reshape(height, width, 4)
    alpha = rgba[:, :, 3]
    return rgba[:, :, :3].copy(), None if alpha.min() == 255 else alpha.copy()
