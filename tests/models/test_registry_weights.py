"""Registry and weights: explicit table, safetensors + card, sha256 checked, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from srdesk.core.errors import InvalidParameter, ModelCorrupt, ModelMissing, UnknownModel
from srdesk.engine import pipeline
from srdesk.models import registry
from srdesk.models.base import TorchUpscaler
from srdesk.models.srresnet import SRResNet
from srdesk.models.weights import sha256_of, weights_dir
from tests.conftest import REPO, shared_data

ARCH = {"arch": "srresnet", "scale": 4, "num_blocks": 1, "channels": 8, "batch_norm": False, "image_skip": True}


@pytest.fixture
def weights_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    torch.manual_seed(0)
    net = SRResNet(4, 1, 8, batch_norm=False, image_skip=True)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp_path / "mini-x4.safetensors"))
    card = {"name": "mini-x4", "weights_file": "mini-x4.safetensors", "architecture": ARCH,
            "sha256": sha256_of(tmp_path / "mini-x4.safetensors"),
            "metrics": {"Set5": {"psnr": 30.12, "ssim": 0.85}}}
    (tmp_path / "mini-x4.json").write_text(json.dumps(card))
    monkeypatch.setenv("SRDESK_WEIGHTS_DIR", str(tmp_path))
    registry.register(registry.ModelEntry("mini-x4", "learned", "test model", scale=4, weights="mini-x4"))
    pipeline.clear_model_cache()
    yield tmp_path
    registry.unregister("mini-x4")
    pipeline.clear_model_cache()


def test_every_classical_method_is_registered() -> None:
    names = {e.name for e in registry.entries()}
    assert {"nearest", "bilinear", "bicubic", "lanczos", "hermite", "bspline", "fft"} <= names
    assert {"srresnet-x4", "srgan-x4"} <= names


def test_unknown_model() -> None:
    with pytest.raises(UnknownModel, match="unknown model 'nope'"):
        registry.get("nope")


def test_load_checked_weights(weights_folder: Path) -> None:
    upscaler = registry.load("mini-x4", "cpu")
    assert upscaler.kind == "learned" and upscaler.scale == 4
    assert registry.get("mini-x4").quality() == "Set5 30.12 dB"
    out = pipeline.enhance(np.full((5, 6, 3), 0.5, np.float32), "mini-x4", 4, device="cpu")
    assert out.pixels.shape == (20, 24, 3)


def test_quality_puts_real_photos_first_with_gains_over_bicubic(weights_folder: Path) -> None:
    card = json.loads((weights_folder / "mini-x4.json").read_text())
    card["metrics"]["Set14"] = {"psnr": 27.0}
    card["metrics_bicubic"] = {"Set5": {"psnr": 28.43}, "Set14": {"psnr": 26.09}}
    card["metrics_real"] = {"Set5": {"psnr": 27.7}, "Set14": {"psnr": 24.9}}
    card["metrics_real_bicubic"] = {"Set5": {"psnr": 26.64}, "Set14": {"psnr": 25.02}}
    (weights_folder / "mini-x4.json").write_text(json.dumps(card))
    assert registry.get("mini-x4").quality() == (
        "real photos: Set5 27.70, Set14 24.90 dB (+1.06, -0.12 over bicubic); "
        "clean: Set5 30.12, Set14 27.00 dB (+1.69, +0.91 over bicubic)")
    del card["metrics_real_bicubic"]["Set14"]  # a gain is shown only against bicubic on the same sets
    (weights_folder / "mini-x4.json").write_text(json.dumps(card))
    assert registry.get("mini-x4").quality().startswith("real photos: Set5 27.70, Set14 24.90 dB; clean:")


def test_tampered_weights_are_refused(weights_folder: Path) -> None:
    path = weights_folder / "mini-x4.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelCorrupt, match="damaged or was changed"):
        registry.load("mini-x4", "cpu")


def test_truncated_weights_are_refused(weights_folder: Path) -> None:
    path = weights_folder / "mini-x4.safetensors"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ModelCorrupt):
        registry.load("mini-x4", "cpu")


def test_missing_weights_and_card(weights_folder: Path) -> None:
    (weights_folder / "mini-x4.safetensors").unlink()
    assert not registry.get("mini-x4").installed()
    with pytest.raises(ModelMissing, match="missing"):
        registry.load("mini-x4", "cpu")
    (weights_folder / "mini-x4.json").unlink()
    with pytest.raises(ModelMissing, match="card"):
        registry.load("mini-x4", "cpu")


def test_pickle_files_are_never_loaded(weights_folder: Path) -> None:
    """A .pt/.pth pickle beside the card is ignored: only the card's safetensors file counts."""
    card = json.loads((weights_folder / "mini-x4.json").read_text())
    card["weights_file"] = "evil.pt"
    (weights_folder / "evil.pt").write_bytes(b"\x80\x04cos\nsystem\n(S'echo pwned'\ntR.")
    card["sha256"] = sha256_of(weights_folder / "evil.pt")
    (weights_folder / "mini-x4.json").write_text(json.dumps(card))
    with pytest.raises(ModelCorrupt, match="not a valid safetensors"):
        registry.load("mini-x4", "cpu")


shipped = pytest.mark.skipif(not (REPO / "weights" / "srresnet-x4.json").exists(), reason="no shipped SRResNet")


@pytest.mark.weights
@shipped
def test_shipped_srresnet_loads_and_matches_its_card(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SRDESK_WEIGHTS_DIR", raising=False)
    card = json.loads((weights_dir() / "srresnet-x4.json").read_text())
    assert sha256_of(weights_dir() / card["weights_file"]) == card["sha256"]
    assert (weights_dir() / card["weights_file"]).stat().st_size < 10_000_000
    assert registry.load("srresnet-x4", "cpu").scale == 4


@pytest.mark.weights
@pytest.mark.data
@pytest.mark.skipif(not (REPO / "weights" / "srgan-x4.json").exists(), reason="no shipped SRGAN")
def test_shipped_srgan_stays_1db_above_bicubic_and_matches_its_card(monkeypatch: pytest.MonkeyPatch) -> None:
    from srdesk.core.evaluate import benchmark_files, evaluate

    monkeypatch.delenv("SRDESK_WEIGHTS_DIR", raising=False)
    card = json.loads((weights_dir() / "srgan-x4.json").read_text())
    assert sha256_of(weights_dir() / card["weights_file"]) == card["sha256"]
    pipeline.clear_model_cache()
    files = benchmark_files(shared_data("benchmarks", "Set5"))
    model = evaluate(lambda lr, s: pipeline.enhance(lr, "srgan-x4", s, device="cpu", precision="exact").pixels,
                     files, 4)
    bicubic = evaluate(lambda lr, s: pipeline.enhance(lr, "bicubic", s).pixels, files, 4)
    assert model.mean_psnr >= bicubic.mean_psnr + 1.0
    assert model.mean_psnr == pytest.approx(card["metrics"]["Set5"]["psnr"], abs=0.01)  # the card tells the truth


@pytest.mark.weights
@pytest.mark.data
@shipped
def test_shipped_srresnet_beats_bicubic_on_set5_by_2db(monkeypatch: pytest.MonkeyPatch) -> None:
    from srdesk.core.evaluate import benchmark_files, evaluate

    monkeypatch.delenv("SRDESK_WEIGHTS_DIR", raising=False)
    pipeline.clear_model_cache()
    files = benchmark_files(shared_data("benchmarks", "Set5"))
    model = evaluate(lambda lr, s: pipeline.enhance(lr, "srresnet-x4", s, device="cpu").pixels, files, 4)
    bicubic = evaluate(lambda lr, s: pipeline.enhance(lr, "bicubic", s).pixels, files, 4)
    assert model.mean_psnr >= bicubic.mean_psnr + 2.0


@pytest.mark.weights
@pytest.mark.data
@pytest.mark.skipif(not (REPO / "weights" / "pixel-recursive-faces-x4.json").exists(),
                    reason="no shipped Pixel Recursive model")
def test_shipped_pixel_recursive_beats_bicubic_in_nll(monkeypatch: pytest.MonkeyPatch) -> None:
    """On held-out faces, the model's likelihood beats the best Laplace density around bicubic."""
    from srdesk.models.base import SamplingUpscaler
    from srdesk.models.pixel_recursive import PixelRecursiveSR
    from srdesk.training.pr_evaluate import bicubic_levels, fit_laplace_scale, laplace_bits, model_bits
    from srdesk.training.pr_trainer import load_faces

    monkeypatch.delenv("SRDESK_WEIGHTS_DIR", raising=False)
    card = json.loads((weights_dir() / "pixel-recursive-faces-x4.json").read_text())
    assert sha256_of(weights_dir() / card["weights_file"]) == card["sha256"]
    upscaler = registry.load("pixel-recursive-faces-x4", "cpu")
    assert isinstance(upscaler, SamplingUpscaler) and isinstance(upscaler.module, PixelRecursiveSR)
    faces = shared_data("faces")
    lr, hr = load_faces(faces, "test", 32, 4, limit=100)
    fit_lr, fit_hr = load_faces(faces, "train", 32, 4, limit=200)
    bits, _ = model_bits(upscaler.module.eval(), lr, hr)
    bicubic = laplace_bits(bicubic_levels(lr, 32), hr, fit_laplace_scale(bicubic_levels(fit_lr, 32), fit_hr))
    assert bits < bicubic


def test_precision_choice(weights_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "cpu_has_native_bf16", lambda: True)
    auto = registry.load("mini-x4", "cpu", "auto")
    exact = registry.load("mini-x4", "cpu", "exact")
    assert isinstance(auto, TorchUpscaler) and isinstance(exact, TorchUpscaler)
    assert auto.cpu_bf16 and not exact.cpu_bf16
    monkeypatch.setattr(registry, "cpu_has_native_bf16", lambda: False)  # emulated bf16 would be slower
    slow_cpu = registry.load("mini-x4", "cpu", "auto")
    assert isinstance(slow_cpu, TorchUpscaler) and not slow_cpu.cpu_bf16
    with pytest.raises(InvalidParameter):
        registry.load("mini-x4", "cpu", "half")


@pytest.mark.weights
@shipped
@pytest.mark.skipif(not registry.cpu_has_native_bf16(), reason="this CPU has no native bfloat16")
def test_bf16_on_cpu_keeps_the_8bit_result(monkeypatch: pytest.MonkeyPatch) -> None:
    from srdesk.core import imageio
    from srdesk.core.metrics import to_uint8

    monkeypatch.delenv("SRDESK_WEIGHTS_DIR", raising=False)
    pipeline.clear_model_cache()
    photo = imageio.load(REPO / "resources" / "sample-osprey.jpg").pixels[200:296, 300:396]
    exact = to_uint8(pipeline.enhance(photo, "srresnet-x4", 4, device="cpu", precision="exact").pixels)
    fast = to_uint8(pipeline.enhance(photo, "srresnet-x4", 4, device="cpu", precision="auto").pixels)
    upscaler = pipeline.get_upscaler("srresnet-x4", "cpu", "auto")
    assert isinstance(upscaler, TorchUpscaler) and upscaler.cpu_bf16
    diff = np.abs(exact.astype(int) - fast.astype(int))
    assert diff.mean() < 0.5 and diff.max() <= 8
    assert not np.array_equal(exact, fast)  # it really ran in bf16


def test_detail_strength_interpolates_between_the_faithful_and_the_detailed_weights(weights_folder: Path) -> None:
    torch.manual_seed(1)
    other = SRResNet(4, 1, 8, batch_norm=False, image_skip=True)
    save_file({k: v.contiguous() for k, v in other.state_dict().items()}, str(weights_folder / "mini-gan.safetensors"))
    card = {"name": "mini-gan", "weights_file": "mini-gan.safetensors", "architecture": ARCH,
            "sha256": sha256_of(weights_folder / "mini-gan.safetensors")}
    (weights_folder / "mini-gan.json").write_text(json.dumps(card))
    registry.register(registry.ModelEntry("mini-gan", "learned", "test", scale=4, weights="mini-gan",
                                          faithful="mini-x4"))
    try:
        image = np.random.default_rng(0).random((12, 10, 3)).astype(np.float32)

        def run(model: str, strength: float | None) -> np.ndarray:
            return pipeline.enhance(image, model, 4, device="cpu", precision="exact", strength=strength).pixels

        faithful, detailed = run("mini-x4", None), run("mini-gan", None)
        assert np.abs(faithful - detailed).max() > 0.01
        np.testing.assert_allclose(run("mini-gan", 0.0), faithful, atol=1e-5)
        np.testing.assert_allclose(run("mini-gan", 1.0), detailed, atol=1e-5)
        half = run("mini-gan", 0.5)
        assert 0 < np.abs(half - faithful).mean() < np.abs(detailed - faithful).mean()
        with pytest.raises(InvalidParameter, match="no detail strength"):
            run("mini-x4", 0.5)
    finally:
        registry.unregister("mini-gan")


TEXTURE_BASES = {4: "photo-crisp-x4", 2: "photo-x2"}  # the network each texture head was trained over


@pytest.mark.weights
@pytest.mark.parametrize("scale", [4, 2])
def test_the_texture_models_strength_sets_how_much_texture_is_drawn_over_the_photo_model(scale: int) -> None:
    """photo-texture-xN is a photo model with a texture head (photo-crisp-x4 at x4, photo-x2 at x2): at strength 0
    exactly that model's result (the head is retrained over each new one), at 1 the drawn texture, at 0.5 about
    half of it; the same photo gives the same texture each time (drawn by position)."""
    from srdesk.core import imageio
    from srdesk.core.resources import sample_photo

    textured, base = f"photo-texture-x{scale}", TEXTURE_BASES[scale]
    assert registry.get(textured).has_strength
    photo = np.ascontiguousarray(imageio.load(sample_photo()).pixels[100:148, 200:264])

    def run(model: str, strength: float | None) -> np.ndarray:
        return pipeline.enhance(photo, model, scale, device="cpu", precision="exact", strength=strength).pixels

    plain = run(base, None)
    np.testing.assert_array_equal(run(textured, 0.0), plain)
    full, again = run(textured, None), run(textured, 1.0)
    np.testing.assert_array_equal(full, again)
    drawn = np.abs(full - plain).mean()
    assert drawn > 0.3 / 255
    assert 0.2 * drawn < np.abs(run(textured, 0.5) - plain).mean() < 0.8 * drawn
