"""Loading and saving photos without losing what the user cares about.

``load`` returns float32 RGB pixels in [0, 1] (grayscale replicated to three
channels so every method sees RGB), the alpha channel separately, and the
metadata kept aside: format, bit depth, ICC profile, EXIF (orientation
already applied to the pixels), DPI. ``save`` writes it back atomically
(temporary file in the target folder, then a link/rename), never over the
original and, unless asked, never over an existing file.

Pillow does the work, except for 16-bit colour, which Pillow reduces to
8 bits: 16-bit PNGs go through pypng and 16-bit TIFFs through tifffile, so
16 bits in means 16 bits out where the output format allows it.
"""

from __future__ import annotations

import errno
import io
import os
import struct
import tempfile
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, UnidentifiedImageError

from srdesk.core import constants
from srdesk.core.analysis import Assessment, quality_from_table
from srdesk.core.errors import ImageTooLarge, InvalidParameter, OutputError, UnsupportedImage

# srdesk enforces its own, user-adjustable pixel limit (DEFAULT_MAX_PIXELS)
# before decoding; Pillow's global guard would otherwise refuse images the
# user has explicitly allowed.
Image.MAX_IMAGE_PIXELS = None

DEFAULT_MAX_PIXELS = 64_000_000
"""Refuse inputs above this many pixels unless the caller raises the limit."""

FORMATS = {  # extension -> (Pillow format name, canonical extension)
    "png": ("PNG", "png"),
    "jpg": ("JPEG", "jpg"),
    "jpeg": ("JPEG", "jpg"),
    "webp": ("WEBP", "webp"),
    "tif": ("TIFF", "tif"),
    "tiff": ("TIFF", "tif"),
    "bmp": ("BMP", "bmp"),
}
OUTPUT_FORMATS, READABLE_SUFFIXES, TRAINING_SUFFIXES = constants.OUTPUT_FORMATS, constants.READABLE_SUFFIXES, \
    constants.TRAINING_SUFFIXES
SIXTEEN_BIT_FORMATS = {"PNG", "TIFF"}
# the longest side a file of the format can hold (libwebp's 14-bit sizes; JPEG's 16-bit header fields);
# PNG, TIFF and BMP hold more than srdesk makes
MAX_SIDE = {"WEBP": 16383, "JPEG": 65535}
FORMAT_NAMES = {"WEBP": "WebP"}  # as people write them, where Pillow's differ
ALPHA_FORMATS = {"PNG", "WEBP", "TIFF"}

EXIF_ORIENTATION = 0x0112
EXIF_IFD = 0x8769
EXIF_PIXEL_X = 0xA002
EXIF_PIXEL_Y = 0xA003

try:  # HEIC/AVIF: optional extra (pip install srdesk[heif])
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - depends on the optional extra
    pass


@dataclass
class ImageMeta:
    path: Path | None = None
    format: str = "PNG"
    mode: str = "RGB"
    grayscale: bool = False
    bit_depth: int = 8
    icc_profile: bytes | None = None
    exif: bytes | None = None
    dpi: tuple[float, float] | None = None
    frames: int = 1
    notes: list[str] = field(default_factory=list)
    jpeg_quality: int | None = None  # the quality a JPEG file was saved at (its quantisation tables)
    assessment: Assessment | None = None  # what the photo has been through, once measured (pipeline.resolve)


STRIP_ROWS = constants.STRIP_ROWS
JPEG_OPTIMIZE_MAX_PIXELS = 16_000_000  # optimised Huffman tables up to this size (see encode)

PEAKS = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def integer_dtype(bits: int) -> np.dtype:
    return np.dtype(np.uint16 if bits >= 16 else np.uint8)


def to_float(array: np.ndarray) -> np.ndarray:
    """float32 in [0, 1] from float (returned as it is) or uint8/uint16 (full range) pixels."""
    peak = PEAKS.get(array.dtype)
    if peak is None:
        return array.astype(np.float32, copy=False)
    return array.astype(np.float32) / np.float32(peak)  # as load() divides: the same floats either way


def quantize_into(target: np.ndarray, values: np.ndarray) -> None:
    """``target`` (uint8/uint16) = float ``values`` in [0, 1], clipped and rounded to its levels."""
    peak = PEAKS[target.dtype]
    scaled = np.multiply(values, peak, dtype=np.float32)
    np.clip(scaled, 0.0, peak, out=scaled)
    np.rint(scaled, out=scaled)
    target[...] = scaled


def quantize(values: np.ndarray, bits: int) -> np.ndarray:
    """Float pixels in [0, 1] as an integer array of ``bits`` (8 or 16), converted a strip at a time."""
    dtype = integer_dtype(bits)
    if values.dtype == dtype:
        return values
    out = np.empty(values.shape, dtype)
    for top in range(0, values.shape[0], STRIP_ROWS):
        quantize_into(out[top : top + STRIP_ROWS], to_float(values[top : top + STRIP_ROWS]))
    return out


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    """8-bit copy (or the array itself when it is already 8-bit) of float or integer pixels."""
    return quantize(pixels, 8)


@dataclass
class LoadedImage:
    """Pixels with their alpha and the file's metadata.

    ``pixels`` is float32 (H, W, 3) in [0, 1], or, for results made for saving and showing
    (``EnhanceRequest.integer_output``), uint8/uint16 at full range: a quarter (half) of the memory.
    ``alpha`` is (H, W) of the same kind, or None. :meth:`float_pixels` gives floats either way.
    """

    pixels: np.ndarray
    alpha: np.ndarray | None
    meta: ImageMeta

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), the way people say image sizes."""
        return self.pixels.shape[1], self.pixels.shape[0]

    def float_pixels(self) -> np.ndarray:
        return to_float(self.pixels)

    def float_alpha(self) -> np.ndarray | None:
        return None if self.alpha is None else to_float(self.alpha)

    def encodable(self) -> np.ndarray | Image.Image:
        """What :func:`encode` takes: the pixels (a Pillow-made result: its Pillow image, not converted)."""
        return self.pixels


def array_from_picture(picture: Image.Image) -> np.ndarray:
    """uint8 (H, W, C) copy of an 8-bit L/RGB/RGBA Pillow image, a strip at a time (``np.asarray`` of the
    whole picture would briefly hold two more copies)."""
    width, height = picture.size
    channels = len(picture.getbands())
    out = np.empty((height, width, channels), dtype=np.uint8)
    for top in range(0, height, constants.STRIP_ROWS):
        bottom = min(height, top + constants.STRIP_ROWS)
        out[top:bottom] = np.asarray(picture.crop((0, top, width, bottom))).reshape(bottom - top, width, channels)
    return out


class PictureResult(LoadedImage):
    """An 8-bit RGB result that Pillow made (its own resizes): kept as the Pillow image, so that saving
    encodes it as it is; the array is made only when something asks for ``pixels`` (the GUI's view)."""

    def __init__(self, picture: Image.Image, meta: ImageMeta) -> None:
        if picture.mode != "RGB":
            raise ValueError(f"a picture result is 8-bit RGB, not {picture.mode}")
        self.picture: Image.Image | None = picture
        self._array: np.ndarray | None = None
        self.alpha = None
        self.meta = meta

    @property
    def pixels(self) -> np.ndarray:
        if self._array is None:
            assert self.picture is not None
            self._array = array_from_picture(self.picture)
            self.picture = None  # one copy of the pixels is enough
        return self._array

    @pixels.setter
    def pixels(self, value: np.ndarray) -> None:
        self._array, self.picture = value, None

    @property
    def size(self) -> tuple[int, int]:
        return self.picture.size if self.picture is not None else super().size

    def encodable(self) -> np.ndarray | Image.Image:
        return self.picture if self.picture is not None else self.pixels


# ---------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------

def apply_orientation(array: np.ndarray, orientation: int) -> np.ndarray:
    """Rotate/flip pixels as EXIF orientation 1-8 says (same as ImageOps.exif_transpose)."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1, :],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1],
        8: lambda a: np.rot90(a, 1),
    }
    op = ops.get(orientation)
    return np.ascontiguousarray(op(array)) if op else array


def _check_readable(path: Path) -> None:
    name = path.name
    if not path.exists():
        raise UnsupportedImage(f"{name}: file not found")
    if path.is_dir():
        raise UnsupportedImage(f"{name}: is a folder, not an image")
    if not os.access(path, os.R_OK):
        raise UnsupportedImage(f"{name}: permission denied (cannot read the file)")
    if path.stat().st_size == 0:
        raise UnsupportedImage(f"{name}: the file is empty (0 bytes)")


def _png_is_16bit(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(29)
    return len(head) >= 25 and head[:8] == b"\x89PNG\r\n\x1a\n" and head[24] == 16


def _read_16bit_png(path: Path) -> tuple[np.ndarray, bool]:
    """(uint16 (H, W, C) array, has_alpha) for 16-bit PNGs that Pillow would truncate."""
    import png  # pypng, only for 16-bit PNGs (imported when one comes)

    try:
        width, height, rows, info = png.Reader(filename=str(path)).asDirect()
        planes = info["planes"]
        data = np.vstack([np.asarray(row, dtype=np.uint16) for row in rows]).reshape(height, width, planes)
    except png.Error as exc:
        raise ValueError(f"{exc.__class__.__name__}: {exc}") from exc
    return data, bool(info["alpha"])


def _split_channels(data: np.ndarray, peak: float, has_alpha: bool, levels: bool = False
                    ) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """Integer (H, W[, C]) -> float RGB (or, with ``levels``, full-range uint8/uint16 as they are),
    optional alpha, grayscale flag."""
    if levels and PEAKS.get(data.dtype) == peak:
        x = data if data.flags.writeable else data.copy()  # (Pillow's arrays are read-only)
    else:
        x = data.astype(np.float32) / peak
    if x.ndim == 2:
        x = x[:, :, None]
    alpha = None
    if has_alpha:
        alpha, x = x[:, :, -1], x[:, :, :-1]
    gray = x.shape[2] == 1
    rgb = np.repeat(x, 3, axis=2) if gray else x[:, :, :3]
    return np.ascontiguousarray(rgb), None if alpha is None else np.ascontiguousarray(alpha), gray


def _pillow_pixels(im: Image.Image, meta: ImageMeta, levels: bool = False
                   ) -> tuple[np.ndarray, np.ndarray | None, bool]:
    mode = im.mode
    if mode == "CMYK":
        meta.notes.append("converted from CMYK to RGB")
        if meta.icc_profile:
            try:
                src = ImageCms.ImageCmsProfile(io.BytesIO(meta.icc_profile))
                converted = ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"), outputMode="RGB")
                im = converted if converted is not None else im.convert("RGB")
            except (ImageCms.PyCMSError, OSError):
                meta.notes.append("its CMYK colour profile could not be used")
                im = im.convert("RGB")
        else:
            im = im.convert("RGB")
        meta.icc_profile = None  # the CMYK profile no longer describes the pixels
        return _split_channels(np.asarray(im), 255.0, False, levels)
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        meta.bit_depth = 16
        data = np.asarray(im).astype(np.float64)
        peak = 65535.0 if mode != "I" or data.max(initial=0) > 255 else 255.0
        return _split_channels(np.clip(data, 0, peak), peak, False)
    if mode == "F":
        meta.bit_depth = 16
        return _split_channels(np.clip(np.asarray(im, dtype=np.float32), 0, 1), 1.0, False)
    if mode == "1":
        im = im.convert("L")
    elif mode == "P" or mode == "PA":
        im = im.convert("RGBA" if ("transparency" in im.info or mode == "PA") else "RGB")
    elif mode in ("La", "RGBa"):
        im = im.convert(mode[0] + "A" if mode == "La" else "RGBA")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        try:
            im = im.convert("RGB")
        except (ValueError, OSError) as exc:
            name = meta.path.name if meta.path else "image"
            raise UnsupportedImage(f"{name}: unsupported colour mode {mode}") from exc
    has_alpha = im.mode in ("LA", "RGBA")
    return _split_channels(np.asarray(im), 255.0, has_alpha, levels)


def check_pixel_limit(name: str, width: int, height: int, max_pixels: int | None) -> None:
    """Raise :class:`ImageTooLarge` when an image has more pixels than ``max_pixels`` (None: no limit)."""
    if max_pixels is not None and width * height > max_pixels:
        raise ImageTooLarge(
            f"{name}: {width}x{height} is {width * height / 1e6:.1f} megapixels, more than the limit "
            f"of {max_pixels / 1e6:g} megapixels; if you trust this file, raise the limit (srdesk-cli --max-pixels) "
            "or open it on its own in the app, which asks"
        )


def declared_size(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """The width and height a file's header declares, read without decoding the pixels; None when the
    file cannot be read as an image (opening it properly then says why)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                return im.size
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, Image.DecompressionBombError):
        return None


def load(path: str | os.PathLike[str], max_pixels: int | None = DEFAULT_MAX_PIXELS, levels: bool = False
         ) -> LoadedImage:
    """Read an image file; raises :class:`UnsupportedImage` with a readable reason.

    Pixels are float32 in [0, 1]; with ``levels``, 8- and 16-bit files keep their uint8/uint16 levels
    (a quarter/half of the memory, and no conversion for Pillow's own resizes; see :class:`LoadedImage`).
    """
    path = Path(path)
    name = path.name
    _check_readable(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's EXIF/ICC chatter: we report what matters
            im = Image.open(path)
        with im:
            width, height = im.size
            if width < 1 or height < 1:
                raise UnsupportedImage(f"{name}: the image has no pixels ({width}x{height})")
            check_pixel_limit(name, width, height, max_pixels)
            meta = ImageMeta(path=path, format=im.format or "PNG", mode=im.mode,
                             icc_profile=im.info.get("icc_profile") or None,
                             frames=int(getattr(im, "n_frames", 1) or 1))
            if meta.frames > 1:
                meta.notes.append(f"animated image: only the first of {meta.frames} frames is used")
            tables = getattr(im, "quantization", None) if meta.format in ("JPEG", "MPO") else None
            if tables and len(tables.get(0, ())) == 64:
                meta.jpeg_quality = quality_from_table(list(tables[0]))
            dpi = im.info.get("dpi")
            if isinstance(dpi, tuple) and len(dpi) == 2:
                meta.dpi = (float(dpi[0]), float(dpi[1]))
            exif = im.getexif()
            orientation = exif.get(EXIF_ORIENTATION, 1)
            if not isinstance(orientation, int) or not 1 <= orientation <= 8:
                meta.notes.append(f"ignored an invalid EXIF orientation ({orientation!r})")
                orientation = 1
            im.load()
            if meta.format == "PNG" and _png_is_16bit(path) and im.mode not in ("I", "I;16", "I;16B"):
                data, has_alpha = _read_16bit_png(path)
                meta.bit_depth = 16
                rgb, alpha, gray = _split_channels(data, 65535.0, has_alpha, levels)
            elif meta.format == "TIFF" and max(_tiff_bits(im)) == 16 and im.mode not in ("I;16", "I;16B", "I;16L"):
                import tifffile  # only for 16-bit TIFFs (imported when one comes)

                data = tifffile.imread(path)
                data = data[0] if data.ndim == 4 else data  # first page of a stack
                meta.bit_depth = 16
                rgb, alpha, gray = _split_channels(data, 65535.0, data.ndim == 3 and data.shape[2] in (2, 4), levels)
            else:
                rgb, alpha, gray = _pillow_pixels(im, meta, levels)
            if exif:
                meta.exif = _portable_exif(exif, meta.format == "TIFF")
    except UnsupportedImage:  # ours (ImageTooLarge included): already a readable message
        raise
    except UnidentifiedImageError as exc:
        raise UnsupportedImage(f"{name}: not an image, or a type srdesk cannot read") from exc
    except Image.DecompressionBombError as exc:  # only if another module re-enabled Pillow's guard
        raise ImageTooLarge(f"{name}: declared size is too large to decode safely") from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error) as exc:
        reason = "the file is truncated or damaged" if "truncat" in str(exc).lower() or isinstance(exc, EOFError) \
            else f"the file is damaged or not a valid image ({exc.__class__.__name__}: {exc})"
        raise UnsupportedImage(f"{name}: {reason}") from exc
    except MemoryError as exc:
        raise ImageTooLarge(f"{name}: not enough memory to decode this image") from exc
    meta.grayscale = gray
    rgb = apply_orientation(rgb, orientation)
    if alpha is not None:
        alpha = apply_orientation(alpha, orientation)
    if rgb.dtype.kind == "f" and not np.isfinite(rgb).all():
        raise UnsupportedImage(f"{name}: the image contains invalid (non-finite) values")
    return LoadedImage(pixels=rgb, alpha=alpha, meta=meta)


# Descriptive tags worth carrying from a TIFF's own IFD into another file's EXIF;
# everything else there describes the TIFF's layout (strips, compression...).
PORTABLE_TIFF_TAGS = (0x010E, 0x010F, 0x0110, 0x0131, 0x0132, 0x013B, 0x8298)
EXIF_GPS_IFD = 0x8825


def _portable_exif(exif: Image.Exif, from_tiff: bool) -> bytes | None:
    """EXIF bytes with orientation reset, or None if the block cannot be re-encoded."""
    try:
        if from_tiff:
            clean = Image.Exif()
            for tag in PORTABLE_TIFF_TAGS:
                if tag in exif:
                    clean[tag] = exif[tag]
            for ifd in (EXIF_IFD, EXIF_GPS_IFD):
                content = exif.get_ifd(ifd)
                if content:
                    clean.get_ifd(ifd).update(content)
            exif = clean
        exif[EXIF_ORIENTATION] = 1
        return exif.tobytes()
    except Exception:  # a malformed EXIF block is dropped, never fatal
        return None


def _tiff_bits(im: Image.Image) -> tuple[int, ...]:
    bits = getattr(im, "tag_v2", {}).get(258, (8,))
    return tuple(bits) if isinstance(bits, tuple) else (int(bits),)


def from_array(pixels: np.ndarray, alpha: np.ndarray | None = None, meta: ImageMeta | None = None) -> LoadedImage:
    """Wrap pixels made in memory (tests, the GUI) as a LoadedImage."""
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    return LoadedImage(pixels=pixels.astype(np.float32), alpha=alpha, meta=meta or ImageMeta())


# ---------------------------------------------------------------------------
# saving
# ---------------------------------------------------------------------------

def check_output_size(pil_format: str, width: int, height: int) -> None:
    """Raise :class:`OutputError`, saying what to do, when a ``pil_format`` file cannot hold width x height."""
    limit = MAX_SIDE.get(pil_format)
    if limit is not None and max(width, height) > limit:
        name = FORMAT_NAMES.get(pil_format, pil_format)
        raise OutputError(f"a {name} file holds at most {limit} pixels on a side, and this result is "
                          f"{width}\u00d7{height}: save it as PNG or TIFF, or enlarge less")


def output_format(path: Path, fmt: str | None) -> tuple[str, str]:
    """(Pillow format, canonical extension) from an explicit name or the suffix."""
    key = (fmt or path.suffix.lstrip(".")).lower()
    if key not in FORMATS:
        raise InvalidParameter(f"unsupported output format {key!r}; use png, jpg, webp, tiff or bmp")
    return FORMATS[key]


def unique_path(path: Path) -> Path:
    """``path`` if free, else ``stem-2.ext``, ``stem-3.ext``... (the first free one)."""
    if not path.exists():
        return path
    n = 2
    while True:
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        if not candidate.exists():
            return candidate
        n += 1


def _same_file(a: Path, b: Path | None) -> bool:
    if b is None:
        return False
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _updated_exif(meta: ImageMeta, width: int, height: int) -> bytes | None:
    if not meta.exif:
        return None
    exif = Image.Exif()
    try:
        exif.load(meta.exif)
        exif[EXIF_ORIENTATION] = 1
        ifd = exif.get_ifd(EXIF_IFD)
        if ifd is not None:
            ifd[EXIF_PIXEL_X] = width
            ifd[EXIF_PIXEL_Y] = height
        return exif.tobytes()
    except Exception:  # a broken EXIF block must never stop a save
        meta.notes.append("the original EXIF block was damaged and was not copied")
        return None


def _output_data(pixels: np.ndarray, alpha: np.ndarray | None, meta: ImageMeta, fmt: str,
                 bits: int) -> np.ndarray:
    """(H, W, C) uint8/uint16 with the channels the file will have, made a strip at a time."""
    dtype = integer_dtype(bits)
    keep_alpha = alpha is not None and fmt in ALPHA_FORMATS
    if pixels.dtype == dtype and not meta.grayscale and alpha is None:
        return pixels  # already what the file holds: no copy
    height, width = pixels.shape[:2]
    out = np.empty((height, width, (1 if meta.grayscale else 3) + (1 if keep_alpha else 0)), dtype)
    for top in range(0, height, STRIP_ROWS):
        rows = slice(top, top + STRIP_ROWS)
        x = np.clip(to_float(pixels[rows]), 0.0, 1.0)
        if meta.grayscale:
            x = (0.299 * x[:, :, 0] + 0.587 * x[:, :, 1] + 0.114 * x[:, :, 2])[:, :, None]
        if alpha is not None:
            a = np.clip(to_float(alpha[rows]), 0.0, 1.0)[:, :, None]
            # JPEG/BMP have no alpha: flatten onto white, as viewers show it
            x = np.concatenate([x, a], axis=2) if keep_alpha else x * a + (1.0 - a)
        quantize_into(out[rows], x)
    return out


def _png_16(data: np.ndarray, meta: ImageMeta, exif: bytes | None) -> bytes:
    import png  # pypng

    h, w, c = data.shape
    writer = png.Writer(w, h, greyscale=c in (1, 2), alpha=c in (2, 4), bitdepth=16)
    buf = io.BytesIO()
    writer.write(buf, data.reshape(h, w * c))
    chunks = list(png.Reader(bytes=buf.getvalue()).chunks())
    extra = []
    if meta.icc_profile:
        extra.append((b"iCCP", b"icc\x00\x00" + zlib.compress(meta.icc_profile)))
    if exif:
        extra.append((b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif))
    if meta.dpi:
        ppm = [round(d / 0.0254) for d in meta.dpi]
        extra.append((b"pHYs", ppm[0].to_bytes(4, "big") + ppm[1].to_bytes(4, "big") + b"\x01"))
    out = io.BytesIO()
    png.write_chunks(out, chunks[:1] + extra + chunks[1:])
    return out.getvalue()


def encode(pixels: np.ndarray | Image.Image, alpha: np.ndarray | None, meta: ImageMeta, fmt: str,
           quality: int = 95) -> bytes:
    """The file's bytes: 16-bit where the source was and the format allows, else 8-bit.

    ``pixels``/``alpha`` are float in [0, 1] or uint8/uint16 (see :class:`LoadedImage`); ``pixels`` may
    also be an 8-bit RGB Pillow image (:class:`PictureResult`), written as it is where nothing needs changing.
    """
    if not 1 <= quality <= 100:
        raise InvalidParameter(f"quality must be between 1 and 100, got {quality}")
    check_output_size(fmt, *(pixels.size if isinstance(pixels, Image.Image) else pixels.shape[1::-1]))
    if isinstance(pixels, Image.Image):
        if pixels.mode == "RGB" and alpha is None and not meta.grayscale and meta.bit_depth < 16:
            return _encode_8bit(pixels, meta, fmt, quality)
        pixels = array_from_picture(pixels)
    if meta.bit_depth >= 16 and fmt in SIXTEEN_BIT_FORMATS:
        data16 = _output_data(pixels, alpha, meta, fmt, 16)
        exif = _updated_exif(meta, data16.shape[1], data16.shape[0])
        if fmt == "PNG":
            return _png_16(data16, meta, exif)
        import tifffile

        buf = io.BytesIO()
        extratags = [(34675, "B", len(meta.icc_profile), meta.icc_profile, True)] if meta.icc_profile else []
        tifffile.imwrite(buf, data16[:, :, 0] if data16.shape[2] == 1 else data16,
                         photometric="minisblack" if data16.shape[2] in (1, 2) else "rgb",
                         extrasamples=["unassalpha"] if data16.shape[2] in (2, 4) else None,
                         compression="zlib", extratags=extratags)
        return buf.getvalue()
    data8 = _output_data(pixels, alpha, meta, fmt, 8)
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[data8.shape[2]]
    return _encode_8bit(Image.fromarray(data8[:, :, 0] if data8.shape[2] == 1 else data8, mode=mode), meta, fmt,
                        quality)


def _encode_8bit(im: Image.Image, meta: ImageMeta, fmt: str, quality: int) -> bytes:
    width, height = im.size
    exif = _updated_exif(meta, width, height)
    options: dict[str, object] = {}
    if meta.icc_profile:
        options["icc_profile"] = meta.icc_profile
    if exif and fmt in ("JPEG", "PNG", "WEBP"):
        options["exif"] = exif
    elif exif and fmt == "TIFF":
        # TIFF keeps its metadata as tags of its own IFD: carry the descriptive ones
        # (the EXIF sub-IFD is not written; Pillow's TIFF writer mangles its offset)
        source = Image.Exif()
        source.load(exif)
        options["tiffinfo"] = {tag: source[tag] for tag in PORTABLE_TIFF_TAGS if tag in source}
    if meta.dpi and fmt in ("JPEG", "PNG", "TIFF", "BMP"):
        options["dpi"] = meta.dpi
    if fmt == "JPEG":
        # optimised Huffman tables make the file ~5 % smaller, but libjpeg then keeps every DCT coefficient
        # of the picture in memory (6 bytes per pixel at 4:4:4): not for big outputs
        options.update(quality=quality, subsampling=0 if quality >= 90 else 2,
                       optimize=width * height <= JPEG_OPTIMIZE_MAX_PIXELS)
    elif fmt == "WEBP":
        options.update(quality=quality, method=4)
    elif fmt == "PNG":
        options.update(compress_level=6)
    elif fmt == "TIFF":
        options.update(compression="tiff_adobe_deflate")
    if fmt == "JPEG" and options.get("optimize"):
        try:
            return _save_with_metadata(im, fmt, options, meta)
        except OSError:
            # Pillow gives libjpeg 2 bytes per pixel of buffer for optimised tables; noise-like pictures at
            # high quality can need more ("Suspension not allowed here"): streaming, unoptimised tables need none
            options["optimize"] = False
    return _save_with_metadata(im, fmt, options, meta)


def keep_freed_image_memory(limit_mb: int = 256) -> None:
    """Let Pillow keep up to ``limit_mb`` of freed image memory for the next image it makes (by default it
    gives it back at once). Encoding converts the finished result into a new Pillow image; with this it
    reuses the pages of the images freed before it instead of faulting in new ones (~0.1 s of a 50 MP
    result). Process-wide: for the CLI, whose process ends after its batch."""
    Image.core.set_blocks_max(max(1, limit_mb * 2**20 // Image.core.get_block_size()))


def _save_with_metadata(im: Image.Image, fmt: str, options: dict[str, object], meta: ImageMeta) -> bytes:
    buf = io.BytesIO()
    try:
        im.save(buf, format=fmt, **options)
    except (OSError, ValueError, RuntimeError, struct.error):
        if not {"exif", "icc_profile", "tiffinfo"} & options.keys():
            raise
        # damaged metadata must not cost the user the picture: write it without
        without = {k: v for k, v in options.items() if k not in ("exif", "icc_profile", "tiffinfo")}
        buf = io.BytesIO()
        im.save(buf, format=fmt, **without)
        meta.notes.append("the original metadata could not be written to this format and was left out")
    return buf.getvalue()


def write_atomic(data: bytes, target: Path, overwrite: bool = False, protect: Path | None = None) -> Path:
    """Write ``data`` to ``target`` (or the next free ``-N`` name) all at once.

    The bytes go to a hidden temporary file in the same folder, are flushed to
    disk, then linked to the final name, which fails rather than replaces if
    the name was taken meanwhile; so a crash leaves at most a ``.srdesk-*.part``
    file and never a half-written image under a real name. ``protect`` (the
    original photo) can never be replaced, whatever ``overwrite`` says.
    """
    target = Path(target)
    folder = target.parent
    if not folder.is_dir():
        raise OutputError(f"{target.name}: the output folder {folder} does not exist")
    if _same_file(target, protect):
        if overwrite:
            raise OutputError(f"{target.name}: refusing to overwrite the original photo")
        target = unique_path(target)
    if not overwrite:
        target = unique_path(target)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".srdesk-{os.getpid()}-", suffix=".part", dir=folder)
    except OSError as exc:
        raise OutputError(f"{target.name}: cannot write to {folder}: {exc.strerror or exc}") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a photo gets the usual permissions
        while True:
            if overwrite:
                os.replace(tmp, target)
                break
            try:
                os.link(tmp, target)  # atomic and never replaces
                tmp.unlink()
                break
            except FileExistsError:
                target = unique_path(target)
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                    raise
                # Filesystems without hard links: rename, having just checked the name is free.
                if target.exists():
                    target = unique_path(target)
                os.replace(tmp, target)
                break
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        reason = "the disk is full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
        raise OutputError(f"{target.name}: could not be written: {reason}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save(
    image: LoadedImage,
    path: str | os.PathLike[str],
    fmt: str | None = None,
    quality: int = 95,
    overwrite: bool = False,
    protect: Path | None = None,
) -> Path:
    """Encode and write ``image``; returns the path actually written."""
    path = Path(path)
    pil_format, extension = output_format(path, fmt)
    if fmt and path.suffix.lower().lstrip(".") not in (extension, fmt.lower()):
        path = path.with_suffix("." + extension)
    data = encode(image.encodable(), image.alpha, image.meta, pil_format, quality)
    return write_atomic(data, path, overwrite=overwrite, protect=protect or image.meta.path)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists but is not ours, or we cannot tell: leave its files alone
    return True


def clean_stale_temporaries(folder: Path) -> list[Path]:
    """Remove ``.srdesk-PID-*.part`` files whose writing process no longer runs (it was killed)."""
    removed = []
    for tmp in Path(folder).glob(".srdesk-*.part"):
        parts = tmp.name.split("-")
        pid = int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else None
        if pid is not None and (pid == os.getpid() or _process_alive(pid)):
            continue
        try:
            tmp.unlink()
            removed.append(tmp)
        except OSError:
            pass
    return removed
