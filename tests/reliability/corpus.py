"""A corpus of hostile image files: what people's disks and the internet actually hold.

    python -m tests.reliability.corpus OUTDIR     # write it to look at

``make_corpus(folder)`` writes more than 500 files and returns a list of
(name, expectation) where expectation is "ok" (must be enlarged), "error"
(must be refused with a clear message) or "either" (a damaged file that a
tolerant decoder may still read, e.g. a JPEG cut after its last scan).
"""

from __future__ import annotations

import io
import os
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import png
import tifffile
from PIL import Image

Expect = str


def _photo(rng: np.random.Generator, h: int = 24, w: int = 32) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 / w, y * 255 / h, (x + y) * 128 / (w + h)], axis=2)
    return np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)


def _encoded(rng: np.random.Generator) -> dict[str, bytes]:
    """One valid file per format."""
    out = {}
    image = Image.fromarray(_photo(rng))
    for fmt, ext in (("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp"), ("TIFF", "tif"), ("BMP", "bmp"),
                     ("GIF", "gif")):
        buf = io.BytesIO()
        image.save(buf, fmt)
        out[ext] = buf.getvalue()
    return out


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _bombs() -> dict[str, bytes]:
    """Tiny files that declare enormous images."""
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    png_bomb = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\0" * 1000)) \
        + _png_chunk(b"IEND", b"")
    gif_bomb = b"GIF89a" + struct.pack("<HH", 65535, 65535) + b"\x00\x00\x00" + b",\x00\x00\x00\x00" + \
        struct.pack("<HH", 65535, 65535) + b"\x00\x02\x02\x44\x01\x00;"
    bmp_bomb = b"BM" + struct.pack("<IHHI", 1000, 0, 0, 54) + struct.pack("<IiiHHIIiiII", 40, 60000, 60000, 1, 24,
                                                                           0, 0, 0, 0, 0, 0) + b"\0" * 100
    # JPEG: SOI, a SOF0 of 65000 x 65000, then end
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, 65000, 65000, 3) + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00"
    jpeg_bomb = b"\xff\xd8" + sof + b"\xff\xd9"
    return {"bomb.png": png_bomb, "bomb.gif": gif_bomb, "bomb.bmp": bmp_bomb, "bomb.jpg": jpeg_bomb}


def make_corpus(folder: Path, seed: int = 0) -> list[tuple[str, Expect]]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    items: list[tuple[str, Expect]] = []

    def write(name: str, data: bytes, expect: Expect) -> None:
        (folder / name).write_bytes(data)
        items.append((name, expect))

    valid = _encoded(rng)
    for ext, data in valid.items():
        write(f"valid.{ext}", data, "ok")
        write(f"empty.{ext}", b"", "error")
        # truncated at many offsets: refused ("truncated or damaged"), unless the cut only loses bytes after
        # the image data: a PNG cut after the end of its deflate data, losing only the zlib checksum, the
        # last IDAT's CRC and the IEND chunk (12 + 4 + 4 bytes before "IEND"), still holds the whole picture
        complete_at = data.rindex(b"IEND") - 12 if ext == "png" else len(data)
        for k, fraction in enumerate(np.linspace(0.01, 0.99, 60)):
            cut = max(1, int(len(data) * fraction))
            expect: Expect = "ok" if cut >= complete_at else "error"
            write(f"truncated-{k:02d}-{cut}.{ext}", data[:cut], expect)
        # the right bytes under the wrong extension: content decides
        for other in ("jpg", "png", "webp"):
            if other != ext:
                write(f"misnamed-{ext}-as.{other}", data, "ok")
        # a real header followed by noise
        for k in range(12):
            noise = rng.integers(0, 256, size=int(rng.integers(16, 4000)), dtype=np.uint8).tobytes()
            write(f"noise-{k}.{ext}", data[:16] + noise, "error")
        # bit flips in the middle of a valid file
        for k in range(4):
            flipped = bytearray(data)
            for pos in rng.integers(len(data) // 4, len(data), size=8):
                flipped[pos] ^= 0xFF
            # formats without checksums or entropy coding decode flipped bytes as other pixel values; PNG
            # (CRC) and GIF (LZW) refuse them; JPEG's entropy-coded data may or may not stay decodable,
            # which is libjpeg's behaviour, not srdesk's: the one case left as "either"
            expect = {"bmp": "ok", "tif": "ok", "webp": "ok", "png": "error", "gif": "error"}.get(ext, "either")
            write(f"flipped-{k}.{ext}", bytes(flipped), expect)
    for name, data in _bombs().items():
        write(name, data, "error")
    for k in range(20):
        write(f"random-{k}.jpg", rng.integers(0, 256, size=500, dtype=np.uint8).tobytes(), "error")
    write("text.png", b"this is a text file, not a picture\n" * 20, "error")
    write("html.jpg", b"<!doctype html><html><body>404 not found</body></html>", "error")

    def save(name: str, image: Image.Image, expect: Expect = "ok", **options: object) -> None:
        image.save(folder / name, **options)
        items.append((name, expect))

    for h, w in ((1, 1), (1, 7), (9, 1), (2, 2), (1, 300), (300, 1)):
        save(f"tiny-{h}x{w}.png", Image.fromarray(_photo(rng, h, w)))
    save("cmyk.jpg", Image.fromarray(_photo(rng)).convert("CMYK"), quality=90)
    save("cmyk.tif", Image.fromarray(_photo(rng)).convert("CMYK"))
    save("gray.png", Image.fromarray(_photo(rng)).convert("L"))
    save("gray-alpha.png", Image.fromarray(_photo(rng)).convert("LA"))
    save("bilevel.png", Image.fromarray(_photo(rng)).convert("1"))
    save("rgba.png", Image.fromarray(_photo(rng)).convert("RGBA"))
    palette = Image.fromarray(_photo(rng)).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    save("palette-transparent.png", palette, transparency=3)
    save("palette-transparent.gif", palette, transparency=3)
    frames = [Image.fromarray(_photo(rng)) for _ in range(3)]
    frames[0].save(folder / "animated.gif", save_all=True, append_images=frames[1:])
    frames[0].save(folder / "animated.webp", save_all=True, append_images=frames[1:])
    items += [("animated.gif", "ok"), ("animated.webp", "ok")]
    rgb16 = (rng.random((10, 12, 3)) * 65535).astype(np.uint16)
    png.from_array(rgb16.reshape(10, 36), "RGB;16").save(folder / "rgb16.png")
    png.from_array((rng.random((10, 12, 4)) * 65535).astype(np.uint16).reshape(10, 48), "RGBA;16").save(
        folder / "rgba16.png")
    tifffile.imwrite(folder / "rgb16.tif", rgb16, photometric="rgb")
    Image.fromarray((rng.random((10, 12)) * 65535).astype(np.uint16)).save(folder / "gray16.png")
    items += [("rgb16.png", "ok"), ("rgba16.png", "ok"), ("rgb16.tif", "ok"), ("gray16.png", "ok")]
    tifffile.imwrite(folder / "float32.tif", rng.random((10, 12)).astype(np.float32))
    items.append(("float32.tif", "ok"))
    for value in (0, 9, 255, 65535):
        exif = Image.Exif()
        exif[0x0112] = value
        save(f"orientation-{value}.jpg", Image.fromarray(_photo(rng)), exif=exif.tobytes())
    save("bad-icc.jpg", Image.fromarray(_photo(rng)), icc_profile=b"not a colour profile" * 10)
    save("bad-icc.png", Image.fromarray(_photo(rng)), icc_profile=rng.integers(0, 256, 300, np.uint8).tobytes())
    write("bad-exif.jpg", _jpeg_with_broken_exif(valid["jpg"]), "ok")
    long_name = "x" * 200 + ".png"
    write(long_name, valid["png"], "ok")
    write("spaces and ünïcödé ✓.png", valid["png"], "ok")
    raw = os.fsencode(folder) + b"/latin1-\xe9t\xe9.png"
    try:
        with open(raw, "wb") as f:
            f.write(valid["png"])
        items.append((os.fsdecode(raw)[len(str(folder)) + 1 :], "ok"))
    except OSError:  # filesystems that insist on UTF-8 names
        pass
    if hasattr(os, "symlink"):
        os.symlink(folder / "valid.png", folder / "link-to-valid.png")
        os.symlink(folder / "does-not-exist.png", folder / "dangling-link.png")
        os.symlink(folder / "loop-b.png", folder / "loop-a.png")
        os.symlink(folder / "loop-a.png", folder / "loop-b.png")
        items += [("link-to-valid.png", "ok"), ("dangling-link.png", "error"), ("loop-a.png", "error"),
                  ("loop-b.png", "error")]
    (folder / "a-folder.png").mkdir()
    items.append(("a-folder.png", "error"))
    return items


def _jpeg_with_broken_exif(jpeg: bytes) -> bytes:
    """An APP1 Exif segment whose IFD offsets point outside the segment."""
    tiff = b"MM\x00\x2a" + struct.pack(">I", 0xFFFFFF00)
    segment = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(segment) + 2) + segment + jpeg[2:]


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile-corpus")
    made = make_corpus(target)
    print(f"{len(made)} files in {target}")
