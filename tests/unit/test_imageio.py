"""Loading and saving: modes, bit depths, metadata, atomic writes, clear errors."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import png
import pytest
import tifffile
from PIL import Image, ImageCms

from srdesk.core import imageio
from srdesk.core.errors import ImageTooLarge, InvalidParameter, OutputError, UnsupportedImage


def rgb8(rng: np.random.Generator, h: int = 12, w: int = 20) -> np.ndarray:
    return (rng.random((h, w, 3)) * 255).astype(np.uint8)


def test_png_roundtrip_is_lossless(tmp_path: Path, rng: np.random.Generator) -> None:
    data = rgb8(rng)
    Image.fromarray(data).save(tmp_path / "a.png")
    loaded = imageio.load(tmp_path / "a.png")
    assert loaded.pixels.dtype == np.float32 and loaded.pixels.shape == (12, 20, 3)
    out = imageio.save(loaded, tmp_path / "b.png")
    np.testing.assert_array_equal(np.asarray(Image.open(out)), data)


@pytest.mark.parametrize("orientation,expected", [
    (3, lambda a: a[::-1, ::-1]),
    (6, lambda a: np.rot90(a, -1)),
    (8, lambda a: np.rot90(a, 1)),
    (2, lambda a: a[:, ::-1]),
    (5, lambda a: np.swapaxes(a, 0, 1)),
    (7, lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1]),
])
def test_exif_orientation_matches_pillow(tmp_path: Path, rng: np.random.Generator, orientation: int,
                                         expected) -> None:
    from PIL import ImageOps

    data = rgb8(rng, 6, 10)
    exif = Image.Exif()
    exif[imageio.EXIF_ORIENTATION] = orientation
    Image.fromarray(data).save(tmp_path / "o.png", exif=exif.tobytes())
    loaded = imageio.load(tmp_path / "o.png")
    reference = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "o.png")))
    np.testing.assert_array_equal(np.round(loaded.pixels * 255).astype(np.uint8), reference)
    np.testing.assert_array_equal(reference, expected(data))


def test_saved_exif_is_upright_and_resized(tmp_path: Path, rng: np.random.Generator) -> None:
    exif = Image.Exif()
    exif[imageio.EXIF_ORIENTATION] = 6
    exif[0x010F] = "TestCam"  # Make
    exif.get_ifd(imageio.EXIF_IFD)[imageio.EXIF_PIXEL_X] = 20
    Image.fromarray(rgb8(rng)).save(tmp_path / "in.jpg", exif=exif.tobytes(), quality=95)
    loaded = imageio.load(tmp_path / "in.jpg")
    assert loaded.size == (12, 20)  # rotated
    big = imageio.from_array(np.repeat(np.repeat(loaded.pixels, 2, 0), 2, 1), meta=loaded.meta)
    out = imageio.save(big, tmp_path / "out.jpg")
    saved = Image.open(out).getexif()
    assert saved[imageio.EXIF_ORIENTATION] == 1
    assert saved[0x010F] == "TestCam"
    ifd = saved.get_ifd(imageio.EXIF_IFD)
    assert (ifd[imageio.EXIF_PIXEL_X], ifd[imageio.EXIF_PIXEL_Y]) == (24, 40)


def test_icc_profile_is_kept(tmp_path: Path, rng: np.random.Generator) -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(rgb8(rng)).save(tmp_path / "p.png", icc_profile=profile)
    loaded = imageio.load(tmp_path / "p.png")
    for fmt in ("png", "jpg", "webp", "tiff"):
        out = imageio.save(loaded, tmp_path / f"out.{fmt}")
        assert Image.open(out).info.get("icc_profile") == profile, fmt


def test_16bit_rgb_png_stays_16bit(tmp_path: Path, rng: np.random.Generator) -> None:
    data = (rng.random((5, 7, 3)) * 65535).astype(np.uint16)
    png.from_array(data.reshape(5, 21), "RGB;16").save(tmp_path / "d.png")
    loaded = imageio.load(tmp_path / "d.png")
    assert loaded.meta.bit_depth == 16
    np.testing.assert_allclose(loaded.pixels * 65535, data, atol=0.01)
    out = imageio.save(loaded, tmp_path / "e.png")
    _, _, rows, info = png.Reader(filename=str(out)).asDirect()
    assert info["bitdepth"] == 16
    np.testing.assert_array_equal(np.vstack([np.asarray(r) for r in rows]).reshape(5, 7, 3), data)


def test_16bit_rgba_tiff_stays_16bit(tmp_path: Path, rng: np.random.Generator) -> None:
    data = (rng.random((5, 7, 4)) * 65535).astype(np.uint16)
    tifffile.imwrite(tmp_path / "d.tif", data, photometric="rgb", extrasamples=["unassalpha"])
    loaded = imageio.load(tmp_path / "d.tif")
    assert loaded.meta.bit_depth == 16 and loaded.alpha is not None
    out = imageio.save(loaded, tmp_path / "e.tif")
    back = tifffile.imread(out)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, data)


def test_16bit_gray_png(tmp_path: Path, rng: np.random.Generator) -> None:
    data = (rng.random((6, 9)) * 65535).astype(np.uint16)
    Image.fromarray(data).save(tmp_path / "g.png")
    loaded = imageio.load(tmp_path / "g.png")
    assert loaded.meta.grayscale and loaded.meta.bit_depth == 16
    out = imageio.save(loaded, tmp_path / "h.png")
    np.testing.assert_array_equal(np.asarray(Image.open(out)).astype(np.uint16), data)


def test_16bit_to_jpeg_is_8bit(tmp_path: Path, rng: np.random.Generator) -> None:
    data = (rng.random((5, 7, 3)) * 65535).astype(np.uint16)
    png.from_array(data.reshape(5, 21), "RGB;16").save(tmp_path / "d.png")
    out = imageio.save(imageio.load(tmp_path / "d.png"), tmp_path / "d.jpg")
    assert Image.open(out).mode == "RGB"


def test_alpha_kept_in_png_flattened_in_jpeg(tmp_path: Path, rng: np.random.Generator) -> None:
    rgba = np.dstack([rgb8(rng), np.linspace(0, 255, 20, dtype=np.uint8)[None, :].repeat(12, 0)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    loaded = imageio.load(tmp_path / "a.png")
    assert loaded.alpha is not None
    np.testing.assert_allclose(loaded.alpha * 255, rgba[:, :, 3], atol=1e-3)
    back = np.asarray(Image.open(imageio.save(loaded, tmp_path / "b.png")))
    np.testing.assert_array_equal(back, rgba)
    jpeg = np.asarray(Image.open(imageio.save(loaded, tmp_path / "b.jpg")), dtype=np.float64)
    assert jpeg[:, 0].mean() > 240  # fully transparent column flattened onto white


def test_grayscale_and_palette(tmp_path: Path, rng: np.random.Generator) -> None:
    Image.fromarray(rgb8(rng)[:, :, 0], "L").save(tmp_path / "g.png")
    gray = imageio.load(tmp_path / "g.png")
    assert gray.meta.grayscale
    assert Image.open(imageio.save(gray, tmp_path / "g2.png")).mode == "L"
    pal = Image.fromarray(rgb8(rng)).convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    pal.info["transparency"] = 0
    pal.save(tmp_path / "p.png", transparency=0)
    loaded = imageio.load(tmp_path / "p.png")
    assert loaded.alpha is not None and not loaded.meta.grayscale


def test_cmyk_becomes_rgb(tmp_path: Path) -> None:
    Image.new("CMYK", (4, 4), (0, 255, 255, 0)).save(tmp_path / "c.jpg", quality=100)
    loaded = imageio.load(tmp_path / "c.jpg")
    r, g, b = loaded.pixels[2, 2]
    assert r > 0.9 and g < 0.15 and b < 0.15  # pure magenta+yellow = red
    assert any("CMYK" in n for n in loaded.meta.notes)


def test_animated_gif_uses_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (4, 4), c) for c in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    loaded = imageio.load(tmp_path / "a.gif")
    assert loaded.pixels[0, 0, 0] > 0.9 and loaded.meta.frames == 2
    assert any("first" in n for n in loaded.meta.notes)


@pytest.mark.parametrize("content,reason", [
    (b"", "empty"),
    (b"hello, not a picture", "not an image"),
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "not an image|damaged"),
])
def test_bad_files_have_clear_errors(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(UnsupportedImage, match=reason) as info:
        imageio.load(path)
    assert str(info.value).startswith("bad.png:")


def test_truncated_jpeg(tmp_path: Path, rng: np.random.Generator) -> None:
    buf = io.BytesIO()
    Image.fromarray(rgb8(rng, 64, 64)).save(buf, "JPEG")
    (tmp_path / "t.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(UnsupportedImage, match=r"truncated|damaged"):
        imageio.load(tmp_path / "t.jpg")


def test_missing_and_folder(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedImage, match="not found"):
        imageio.load(tmp_path / "nope.png")
    with pytest.raises(UnsupportedImage, match="folder"):
        imageio.load(tmp_path)


def test_pixel_limit_can_be_raised(tmp_path: Path, rng: np.random.Generator) -> None:
    Image.fromarray(rgb8(rng)).save(tmp_path / "a.png")
    with pytest.raises(ImageTooLarge, match="limit"):
        imageio.load(tmp_path / "a.png", max_pixels=100)
    assert imageio.load(tmp_path / "a.png", max_pixels=1000).size == (20, 12)


def test_decompression_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    """A tiny file declaring 100000 x 100000 pixels."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    (tmp_path / "bomb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))
    with pytest.raises(ImageTooLarge, match=r"10000\.0 megapixels, more than the limit of 64 megapixels"):
        imageio.load(tmp_path / "bomb.png")
    # its header alone tells the size (the app asks before opening it); a file that is no image tells none
    assert imageio.declared_size(tmp_path / "bomb.png") == (100_000, 100_000)
    (tmp_path / "notes.png").write_text("not a picture")
    assert imageio.declared_size(tmp_path / "notes.png") is None


def test_never_overwrites_existing_or_original(tmp_path: Path, rng: np.random.Generator) -> None:
    Image.fromarray(rgb8(rng)).save(tmp_path / "a.png")
    original = (tmp_path / "a.png").read_bytes()
    loaded = imageio.load(tmp_path / "a.png")
    first = imageio.save(loaded, tmp_path / "a.png")
    assert first == tmp_path / "a-2.png"
    assert imageio.save(loaded, tmp_path / "a.png") == tmp_path / "a-3.png"
    with pytest.raises(OutputError, match="original"):
        imageio.save(loaded, tmp_path / "a.png", overwrite=True)
    assert (tmp_path / "a.png").read_bytes() == original
    # explicit overwrite of a previous output is allowed
    assert imageio.save(loaded, first, overwrite=True) == first


def test_atomic_write_leaves_nothing_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OutputError, match="disk is full"):
        imageio.write_atomic(b"data", tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []


def test_unwritable_folder(tmp_path: Path, rng: np.random.Generator) -> None:
    loaded = imageio.from_array(rgb8(rng).astype(np.float32) / 255)
    with pytest.raises(OutputError, match="does not exist"):
        imageio.save(loaded, tmp_path / "missing" / "x.png")
    if os.geteuid() != 0:  # root ignores permissions
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        with pytest.raises(OutputError):
            imageio.save(loaded, locked / "x.png")


def test_output_format_choice_and_quality(tmp_path: Path, rng: np.random.Generator) -> None:
    loaded = imageio.from_array(rgb8(rng, 64, 64).astype(np.float32) / 255)
    low = imageio.save(loaded, tmp_path / "q.jpg", quality=10)
    high = imageio.save(loaded, tmp_path / "q.jpg", quality=95)
    assert low.stat().st_size < high.stat().st_size
    assert imageio.save(loaded, tmp_path / "w", fmt="webp").suffix == ".webp"
    with pytest.raises(InvalidParameter):
        imageio.save(loaded, tmp_path / "x.gif")
    with pytest.raises(InvalidParameter):
        imageio.save(loaded, tmp_path / "x.jpg", quality=0)


def test_written_file_has_normal_permissions(tmp_path: Path, rng: np.random.Generator) -> None:
    out = imageio.save(imageio.from_array(rgb8(rng).astype(np.float32) / 255), tmp_path / "p.png")
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask


def test_stale_temporaries_are_cleaned(tmp_path: Path) -> None:
    import subprocess

    dead = subprocess.Popen(["true"])
    dead.wait()  # a finished process: its pid is free (or reused by something unrelated, still not ours)
    (tmp_path / f".srdesk-{dead.pid}-abc.part").write_bytes(b"x")
    (tmp_path / f".srdesk-{os.getpid()}-mine.part").write_bytes(b"x")  # a write in progress in this process
    (tmp_path / "keep.png").write_bytes(b"x")
    removed = imageio.clean_stale_temporaries(tmp_path)
    assert [p.name for p in removed] == [f".srdesk-{dead.pid}-abc.part"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f".srdesk-{os.getpid()}-mine.part", "keep.png"]


def test_noise_like_pictures_encode_as_jpeg_at_high_quality(tmp_path) -> None:
    """Pure noise at quality 95-100 needs more than the 2 bytes per pixel Pillow gives libjpeg for optimised
    Huffman tables; it must still be written (the picture is what it is: film grain, a broken model)."""
    from srdesk.core.imageio import ImageMeta, encode

    noise = np.random.default_rng(0).integers(0, 256, (400, 600, 3)).astype(np.uint8)
    for quality in (95, 100):
        data = encode(noise, None, ImageMeta(), "JPEG", quality)
        (tmp_path / "noise.jpg").write_bytes(data)
        with Image.open(tmp_path / "noise.jpg") as im:
            assert im.size == (600, 400)
        assert len(data) > 2 * 600 * 400  # it really needed more than the optimised path's buffer
