"""Shipping a run: weights + card in the weights folder, network interpolation."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from srdesk.engine import pipeline
from srdesk.models import registry
from srdesk.models.srresnet import SRResNet
from srdesk.models.weights import sha256_of
from srdesk.training.export import blend, export, sr_data_description
from srdesk.training.sr_trainer import SRConfig


def _weights(path: Path, seed: int) -> Path:
    torch.manual_seed(seed)
    net = SRResNet(4, 1, 8, batch_norm=False, image_skip=True)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    return path


def test_blend_interpolates_every_tensor(tmp_path: Path) -> None:
    a, b = _weights(tmp_path / "a.safetensors", 0), _weights(tmp_path / "b.safetensors", 1)
    ta, tb = load_file(str(a)), load_file(str(b))
    assert all(torch.equal(v, ta[k]) for k, v in blend(a, b, 1.0).items())
    assert all(torch.equal(v, tb[k]) for k, v in blend(a, b, 0.0).items())
    quarter = blend(a, b, 0.25)
    for k in ta:
        torch.testing.assert_close(quarter[k], 0.25 * ta[k] + 0.75 * tb[k])
    torch.manual_seed(2)
    other = SRResNet(4, 2, 8, batch_norm=False)
    save_file({k: v.contiguous() for k, v in other.state_dict().items()}, str(tmp_path / "c.safetensors"))
    with pytest.raises(ValueError, match="not the same architecture"):
        blend(a, tmp_path / "c.safetensors", 0.5)


@pytest.fixture
def shipped_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "weights"
    monkeypatch.setenv("SRDESK_WEIGHTS_DIR", str(folder))
    registry.register(registry.ModelEntry("mini-x4", "learned", "test model", scale=4, weights="mini-x4"))
    pipeline.clear_model_cache()
    yield folder
    registry.unregister("mini-x4")
    pipeline.clear_model_cache()


def test_export_writes_checked_weights_and_a_card_with_the_blend(tmp_path: Path, shipped_folder: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    config = SRConfig(run_dir=str(run), blocks=1, channels=8, batch_norm=False, image_skip=True)
    (run / "config.json").write_text(json.dumps(asdict(config)))
    _weights(run / "best.safetensors", 0)
    base = _weights(tmp_path / "base.safetensors", 1)
    card_file = export(run, "mini-x4", "test", None, {}, blend_with=base, alpha=0.6)
    card = json.loads(card_file.read_text())
    shipped = shipped_folder / card["weights_file"]
    assert card["sha256"] == sha256_of(shipped)
    assert card["architecture"]["arch"] == "srresnet" and card["architecture"]["num_blocks"] == 1
    assert card["network_interpolation"]["alpha"] == 0.6
    expected = blend(run / "best.safetensors", base, 0.6)
    assert all(torch.equal(v, expected[k]) for k, v in load_file(str(shipped)).items())
    upscaler = registry.load("mini-x4", "cpu", "exact")
    assert upscaler.scale == 4


def test_card_says_how_the_inputs_were_made_and_which_weights_a_run_continued(tmp_path: Path) -> None:
    init = tmp_path / "before.safetensors"
    save_file({"w": torch.zeros(2)}, str(init))
    text = sr_data_description({"degradation": "real", "degradation_strength": 0.6, "clean_prob": 0.1,
                                "camera_prob": 0.5, "scale": 4, "crop": 128, "init_from": str(init)})
    assert "strength 0.6, 10% plain bicubic, 50% of the others by the first-order camera path" in text
    assert f"continued from {init} as it was before this export (sha256 {sha256_of(init)[:16]}" in text
    plain = sr_data_description({"degradation": "real", "degradation_strength": 0.6, "scale": 2})
    assert "camera" not in plain and "continued" not in plain and plain.endswith("x2")
    sharpened = sr_data_description({"degradation": "real", "scale": 4, "sharpen_weight": 2.0, "sharpen_sigma": 2.0,
                                     "sharpen_threshold": 0.0})
    assert "the pixel loss aimed at unsharp-masked photos (weight 2, Gaussian sigma 2 px, threshold 0 levels)" \
        in sharpened and "discriminator" not in sharpened
    adversarial = sr_data_description({"degradation": "real", "scale": 4, "sharpen_weight": 0.5, "adversarial": "gan"})
    assert "pixel and content losses aimed at unsharp-masked photos" in adversarial
    assert "the discriminator shown them unsharpened" in adversarial
    assert "unsharp" not in plain
    ldl = sr_data_description({"degradation": "real", "scale": 4, "adversarial": "gan", "adv_weight": 0.1,
                               "discriminator": "patch", "d_antialias": True, "content_loss": "random-features",
                               "pixel_weight": 1.0, "artifact_weight": 10.0, "ema_decay": 0.999})
    assert "gan loss x 0.1 with a patch (blur-pooled) discriminator" in ldl and "LDL artefact loss x 10" in ldl
    assert "moving average (decay 0.999)" in ldl and "chroma" not in ldl
    cells = sr_data_description({"degradation": "real", "scale": 4, "adversarial": "gan", "discriminator": "patch",
                                 "d_antialias": True, "d_cells": True})
    assert "patch (blur-pooled) discriminator that also sees the generator's output cells," in cells
    assert "output cells" not in ldl
    turned = sr_data_description({"degradation": "real", "scale": 4, "adversarial": "gan",
                                  "content_loss": "random-features", "features_quarter_turn": True})
    assert "random-features content loss (also on the images turned 90 degrees)" in turned
    assert "turned" not in ldl
    transposed = sr_data_description({"degradation": "real", "scale": 4, "adversarial": "gan",
                                      "content_loss": "random-features", "features_transpose": True})
    assert "random-features content loss (also on the images transposed)" in transposed
    assert "transposed" not in turned
    assert "moving average" not in adversarial and "artefact" not in plain
    clean = sr_data_description({"degradation": "bicubic", "scale": 2, "crop": 128})
    assert "; 128 px HR crops, 8 flips/rotations, LR by MATLAB-compatible bicubic x2, 8-bit" in clean
    assert "second-order" not in clean and "x4" not in clean
    assert "reduced" not in clean and "texture" not in clean
    scales = sr_data_description({"degradation": "bicubic", "scale": 4, "crop": 192, "rescale_prob": 0.5,
                                  "rescale_min": 0.4})
    assert "192 px HR crops, 8 flips/rotations, 50% of them from the photo reduced first (anti-aliased, by a factor " \
           "from 0.4 to 1)" in scales
    texture = sr_data_description({"degradation": "real", "scale": 4, "texture_weight": 0.5, "texture_patch": 16})
    assert "texture loss x 0.5 (EnhanceNet's: Gram matrices of a random CNN's features over 16 px tiles" in texture


def test_card_names_a_gpu_pack_as_the_training_photos(tmp_path: Path) -> None:
    (tmp_path / "pack" / "photos").mkdir(parents=True)
    (tmp_path / "pack" / "manifest.json").write_text(json.dumps(
        {"photos": 114, "megapixels": 70.1, "share_of_each_photo": 0.251, "held_out": ["a", "b", "c", "d"]}))
    packed = sr_data_description({"degradation": "real", "scale": 4, "train_dir": str(tmp_path / "pack" / "photos")})
    assert packed.startswith("114 of the 118 photographs") and "4 held out" in packed
    assert "packed for a GPU machine by srdesk-cli train pack (25% of each photo's area" in packed
    shared = sr_data_description({"degradation": "real", "scale": 4, "train_dir": str(tmp_path / "elsewhere")})
    assert shared.startswith("118 photographs") and "packed" not in shared
