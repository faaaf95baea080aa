"""Model cards: a versioned layout, read and upgraded in one place, and numbers that a fresh measurement confirms."""

from __future__ import annotations

import json

import pytest

from srdesk.core.errors import ModelCorrupt
from srdesk.engine import pipeline
from srdesk.engine.evaluation import evaluate_model
from srdesk.models import registry
from srdesk.models.weights import CARD_SCHEMA, ModelCard, read_card, sha256_of, weights_dir
from tests.conftest import REPO, shared_data

SHIPPED = sorted(p.stem for p in (REPO / "weights").glob("*.json"))
SHA = "ab" * 32
BASE = {"name": "m", "weights_file": "m.safetensors", "sha256": SHA, "architecture": {"arch": "srresnet", "scale": 4}}


@pytest.fixture(autouse=True)
def shipped_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SRDESK_WEIGHTS_DIR", raising=False)


@pytest.mark.weights
@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_card_is_current_complete_and_matches_its_weights(name: str) -> None:
    raw = json.loads((weights_dir() / f"{name}.json").read_text())
    assert raw["schema"] == CARD_SCHEMA  # written in the current layout, not upgraded on the fly
    card = read_card(name)
    assert card is not None and card.name == name
    assert sha256_of(weights_dir() / card.weights_file) == card.sha256
    assert (weights_dir() / card.weights_file).stat().st_size < 30_000_000
    assert card.training["steps_at_export"] > 0
    assert registry.architecture(card.architecture["arch"]).kind in ("learned", "sampler")
    if card.training["config"].get("adversarial") or card.training["config"].get("sharpen_weight"):
        assert card.training["validation"] is None  # these runs keep their latest weights: no score
    assert registry.get(name).card() == card
    assert ModelCard.from_dict(card.to_dict()) == card  # round trip


def test_version_1_cards_are_upgraded() -> None:
    v1 = {**BASE, "training": {"validation_score_at_export": 1234.0, "config": {"adversarial": "gan"}}}
    assert ModelCard.from_dict(v1).training["validation"] is None  # it was a step count
    v1 = {**BASE, "training": {"validation_psnr_set5_at_export": 30.5, "config": {}}}
    assert ModelCard.from_dict(v1).training["validation"] == {"metric": "Set5 Y-PSNR (dB), clean inputs",
                                                               "value": 30.5}
    card = ModelCard.from_dict({**BASE, "network_interpolation": {"alpha": 0.5}})
    assert card.extra == {"network_interpolation": {"alpha": 0.5}}
    assert card.to_dict()["network_interpolation"] == {"alpha": 0.5} and card.to_dict()["schema"] == CARD_SCHEMA


@pytest.mark.parametrize("change, message", [
    ({"schema": CARD_SCHEMA + 1}, "newer than this srdesk"),
    ({"sha256": ""}, "missing sha256"),
    ({"sha256": "xyz"}, "64 hexadecimal"),
    ({"architecture": {"scale": 4}}, "'arch' and 'scale'"),
])
def test_bad_cards_are_refused_with_a_reason(change: dict, message: str) -> None:
    with pytest.raises(ModelCorrupt, match=message):
        ModelCard.from_dict({**BASE, **change})


def _sr_cards() -> list[str]:
    cards = [read_card(name) for name in SHIPPED]
    return [c.name for c in cards if c is not None and c.architecture["arch"] != "pixel-recursive"]


SR_CARDS = _sr_cards()


@pytest.mark.weights
@pytest.mark.data
@pytest.mark.slow
@pytest.mark.parametrize("name", SR_CARDS)
@pytest.mark.parametrize("degradation", ["clean", "real"])
def test_card_numbers_match_a_fresh_measurement_on_set5(name: str, degradation: str) -> None:
    card = read_card(name)
    assert card is not None
    recorded = (card.metrics if degradation == "clean" else card.metrics_real).get("Set5")
    if recorded is None:
        pytest.skip(f"{name}'s card has no Set5 numbers on {degradation} inputs")
    pipeline.clear_model_cache()
    fresh = evaluate_model(name, shared_data("benchmarks", "Set5"), int(card.architecture["scale"]), degradation,
                           device="cpu", precision="exact")
    assert fresh.mean_psnr == pytest.approx(recorded["psnr"], abs=0.01)
    assert fresh.mean_ssim == pytest.approx(recorded["ssim"], abs=0.001)
    if "detail" in recorded:
        assert fresh.mean_detail == pytest.approx(recorded["detail"], abs=0.005)


def test_shipped_cards_exist() -> None:
    assert {"srresnet-x4", "srgan-x4", "pixel-recursive-faces-x4"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_a_model_with_a_texture_head_has_its_detail_strength_set_the_texture(name: str) -> None:
    """The registry's drawn-texture flag (detail strength scales the drawn texture) and the card's architecture
    (a texture head) agree: neither a head without a strength nor a strength that would look for a head."""
    card = read_card(name)
    assert card is not None
    assert registry.get(name).drawn_texture == bool(card.architecture.get("texture"))
