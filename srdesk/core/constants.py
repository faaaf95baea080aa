"""Values several layers share, declared once: file types, output formats, the scale range, sampling defaults."""

from __future__ import annotations

# what srdesk opens (HEIC/AVIF need the optional pillow-heif)
READABLE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".jpe", ".webp", ".tif", ".tiff", ".bmp", ".gif",
                               ".heic", ".heif", ".avif"})
# what Pillow alone reads: training photos and benchmark ground truth
TRAINING_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
# what users can ask srdesk to write (one name each)
OUTPUT_FORMATS = ("png", "jpg", "webp", "tiff", "bmp")

SCALE_MIN, SCALE_MAX = 1.0, 16.0  # the engine's range; the GUI offers 1-8
GUI_SCALE_MAX = 8.0

STRIP_ROWS = 256  # rows converted at a time, so that no whole-image temporaries are made

DEFAULT_TEMPERATURE = 0.8  # sampling models: the paper's tau in [0, 1]
MAX_SAMPLES = 64

# how benchmark inputs are made from ground truth (srdesk.core.evaluate): the literature's bicubic, or realistic
DEGRADATIONS = ("clean", "real")
