"""Sampling models in the pipeline: tiles of 8x8, several samples, seeds, progress per row, cancel."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srdesk import cli
from srdesk.core.errors import Cancelled
from srdesk.engine import pipeline


def test_samples_differ_and_seed_repeats(tiny_sampler, photo: np.ndarray) -> None:
    image = photo[:12, :20]  # 2 x 3 tiles of 8x8, the last ones edge-padded
    first = pipeline.enhance_samples(image, "tiny-sampler-x4", 4, samples=3, temperature=1.0, seed=5, device="cpu")
    assert len(first) == 3 and all(r.pixels.shape == (48, 80, 3) for r in first)
    assert not np.array_equal(first[0].pixels, first[1].pixels)
    again = pipeline.enhance_samples(image, "tiny-sampler-x4", 4, samples=3, temperature=1.0, seed=5, device="cpu")
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.pixels, b.pixels)


def test_temperature_zero_is_deterministic(tiny_sampler, photo: np.ndarray) -> None:
    a, b = pipeline.enhance_samples(photo[:8, :8], "tiny-sampler-x4", 4, samples=2, temperature=0.0, device="cpu")
    np.testing.assert_array_equal(a.pixels, b.pixels)


def test_progress_per_row_and_cancel(tiny_sampler, photo: np.ndarray) -> None:
    calls: list[tuple[int, int]] = []
    pipeline.enhance_samples(photo[:8, :16], "tiny-sampler-x4", 4, samples=1, device="cpu",
                             progress=lambda d, t: calls.append((d, t)))
    assert calls == [(i, 32) for i in range(1, 33)]  # one call per output row
    cancel = threading.Event()

    def stop_after_three(done: int, total: int) -> None:
        if done == 3:
            cancel.set()

    with pytest.raises(Cancelled):
        pipeline.enhance_samples(photo[:8, :16], "tiny-sampler-x4", 4, device="cpu", progress=stop_after_three,
                                 cancel=cancel)


def test_plain_enhance_gives_one_sample(tiny_sampler, photo: np.ndarray) -> None:
    out = pipeline.enhance(photo[:8, :8], "tiny-sampler-x4", 4, device="cpu")
    assert out.pixels.shape == (32, 32, 3)


def test_cli_writes_one_file_per_sample(tiny_sampler, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Image.fromarray((np.random.default_rng(1).random((8, 8, 3)) * 255).astype(np.uint8)).save(tmp_path / "face.png")
    code = cli.main(["enhance", str(tmp_path / "face.png"), "-o", str(tmp_path / "out"), "-m", "tiny-sampler-x4",
                     "--samples", "3", "--temperature", "0.8", "--device", "cpu"])
    assert code == 0
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == [f"face_x4_tiny-sampler-x4_s{k}.png" for k in (1, 2, 3)]
    assert "will take about" in capsys.readouterr().err


def _reduced(levels: np.ndarray, size: int) -> np.ndarray:
    from srdesk.core.resample import matlab_bicubic

    return np.clip(np.rint(matlab_bicubic(levels.astype(np.float64) / 255, (size, size)) * 255), 0, 255)


def test_consistency_projection_matches_the_input_and_keeps_the_rest() -> None:
    """A sample reduced to the input's size equals the input after the projection (within rounding), and what the
    reduction cannot see (the difference between two samples of the same input) is kept."""
    from srdesk.models.sampling import enforce_consistency

    rng = np.random.default_rng(0)
    inputs = rng.integers(20, 235, (2, 3, 8, 8)).astype(np.float64)
    drawn = rng.integers(0, 256, (2, 3, 32, 32)).astype(np.float64)
    fixed = enforce_consistency(drawn, inputs)
    assert fixed.shape == drawn.shape and fixed.min() >= 0 and fixed.max() <= 255
    before = np.abs(_reduced(drawn[0].transpose(1, 2, 0), 8) - inputs[0].transpose(1, 2, 0)).mean()
    after = np.abs(_reduced(fixed[0].transpose(1, 2, 0), 8) - inputs[0].transpose(1, 2, 0)).max()
    assert before > 20 and after <= 1
    # a pattern the reduction cannot see (a sample's high frequencies) survives it
    rows = np.arange(32)[:, None] + np.arange(32)[None, :]
    checker = np.where(rows % 2, 40.0, -40.0)
    smooth = np.kron(inputs, np.ones((1, 1, 4, 4)))
    kept = enforce_consistency(np.clip(smooth + checker, 0, 255), inputs, rounds=1) - enforce_consistency(
        smooth, inputs, rounds=1)
    assert np.corrcoef(kept.ravel(), np.broadcast_to(checker, kept.shape).ravel())[0, 1] > 0.9


def test_samples_are_consistent_with_their_input_unless_asked_for_raw_draws(tiny_sampler, photo: np.ndarray) -> None:
    image = np.rint(photo[:8, :8] * 255) / 255
    consistent = pipeline.enhance_samples(image, "tiny-sampler-x4", 4, samples=2, temperature=1.0, device="cpu")
    raw = pipeline.enhance_samples(image, "tiny-sampler-x4", 4, samples=2, temperature=1.0, device="cpu",
                                   consistent=False)
    target = np.rint(image * 255)
    for c, r in zip(consistent, raw, strict=True):
        error = np.abs(_reduced(np.rint(c.pixels * 255), 8) - target)
        assert error.max() <= 2 and error.mean() < 0.1  # up to 2 levels only where the input touches 0 or 255
        assert np.abs(_reduced(np.rint(r.pixels * 255), 8) - target).mean() > 5  # random weights: far from it
    assert not np.array_equal(consistent[0].pixels, consistent[1].pixels)  # still different samples
