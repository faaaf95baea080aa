"""The installation self-test (`srdesk --self-test`) passes and really checks quality."""

from __future__ import annotations

import numpy as np

from srdesk.core import evaluate
from srdesk.core.resources import sample_photo
from srdesk.engine import selftest


def test_self_test_passes_on_the_sample() -> None:
    lines: list[str] = []
    assert selftest.run(sample_photo(), out=lines.append) == 0
    assert any(line.startswith("PASS bicubic:") for line in lines)
    assert lines[-1] == "self-test passed"


def test_self_test_fails_a_method_worse_than_nearest(monkeypatch) -> None:
    hr = (np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8)
    hr, lr = evaluate.make_pair(hr, 4)
    ok, detail = selftest.check_model("nearest", hr, lr, nearest_psnr=-1.0)
    assert ok
    ok, detail = selftest.check_model("bilinear", hr, lr, nearest_psnr=99.0)
    assert not ok and "not better than nearest" in detail


def test_self_test_fails_a_sampler_whose_samples_ignore_the_input(tiny_sampler) -> None:
    image = np.clip(np.round(sample_photo_pixels()[:128, :128] * 255), 0, 255).astype(np.uint8)
    hr, lr = evaluate.make_pair(image, 4)
    ok, detail = selftest.check_sampler(tiny_sampler.name, hr, lr)  # random weights: noise
    assert not ok and "matches its input" in detail


def sample_photo_pixels() -> np.ndarray:
    from srdesk.core import imageio

    return imageio.load(sample_photo()).pixels


def test_self_test_fails_a_model_that_no_longer_matches_its_card(monkeypatch) -> None:
    """Changed weights or numerics show up as a difference to the card's recorded crop PSNR."""
    from srdesk.models import registry
    from srdesk.models.weights import read_card

    monkeypatch.delenv("SRDESK_WEIGHTS_DIR", raising=False)
    card = read_card("srresnet-x4")
    assert card is not None and "selftest" in card.extra
    ok, detail = selftest.check_card("srresnet-x4")
    assert ok and "as recorded" in detail
    changed = card.with_(extra={**card.extra, "selftest": {**card.extra["selftest"],
                                                            "psnr": card.extra["selftest"]["psnr"] + 0.5}})
    monkeypatch.setattr(registry.ModelEntry, "card", lambda self: changed)
    ok, detail = selftest.check_card("srresnet-x4")
    assert not ok and "its card says" in detail
