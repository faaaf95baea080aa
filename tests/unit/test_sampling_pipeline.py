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
