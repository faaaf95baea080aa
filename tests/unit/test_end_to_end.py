"""The CLI on real kinds of photos with every classical method: sizes, bit depth, alpha, metadata kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import png
import pytest
from PIL import Image, ImageCms

from srdesk import cli
from srdesk.core import resample

METHODS = ["nearest", "bilinear", "bicubic", "lanczos", "hermite", "bspline", "fft"]


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("kinds")
    rng = np.random.default_rng(0)
    rgb = (rng.random((10, 14, 3)) * 255).astype(np.uint8)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees clockwise
    exif[0x010F] = "TestCam"
    Image.fromarray(rgb).save(folder / "rotated.jpg", exif=exif.tobytes(), icc_profile=srgb, quality=95)
    png.from_array((rng.random((10, 14, 3)) * 65535).astype(np.uint16).reshape(10, 42), "RGB;16").save(
        folder / "deep.png")
    Image.fromarray(np.dstack([rgb, np.full((10, 14), 128, np.uint8)]), "RGBA").save(folder / "alpha.png")
    Image.fromarray(rgb).convert("CMYK").save(folder / "print.jpg", quality=95)
    return folder


@pytest.mark.parametrize("method", METHODS)
def test_every_method_on_every_kind(photos: Path, tmp_path: Path, method: str) -> None:
    assert cli.main(["enhance", str(photos), "-o", str(tmp_path), "-m", method, "-s", "2"]) == 0
    rotated = Image.open(tmp_path / f"rotated_x2_{method}.jpg")
    assert rotated.size == (20, 28)  # portrait: the EXIF rotation was applied
    exif = rotated.getexif()
    assert exif[0x0112] == 1 and exif[0x010F] == "TestCam"
    assert rotated.info.get("icc_profile") == Image.open(photos / "rotated.jpg").info["icc_profile"]
    _, _, _, info = png.Reader(filename=str(tmp_path / f"deep_x2_{method}.png")).read()
    assert info["bitdepth"] == 16 and info["size"] == (28, 20)
    alpha = Image.open(tmp_path / f"alpha_x2_{method}.png")
    assert alpha.mode == "RGBA" and abs(int(np.asarray(alpha)[..., 3].mean()) - 128) <= 1
    assert Image.open(tmp_path / f"print_x2_{method}.jpg").mode == "RGB"


def test_methods_differ(photos: Path) -> None:
    """Seven methods, seven different results (a registry wired to one function would pass the test above)."""
    image = np.asarray(Image.open(photos / "alpha.png").convert("RGB"), dtype=np.float32) / 255
    outs = [resample.resize(image, (20, 28), m) for m in METHODS]
    for i in range(len(outs)):
        for j in range(i + 1, len(outs)):
            assert not np.allclose(outs[i], outs[j], atol=1e-4), (METHODS[i], METHODS[j])
