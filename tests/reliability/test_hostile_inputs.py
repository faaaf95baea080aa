"""Hostile inputs, output faults and interruptions: nothing crashes, nothing is lost, nothing partial remains."""

from __future__ import annotations

import errno
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from srdesk.core import imageio
from srdesk.core.tiling import plan_tiles
from srdesk.engine import batch, pipeline
from tests.reliability.corpus import make_corpus


def fingerprint(folder: Path) -> dict[str, str]:
    """sha256 of every regular file (symlinks and folders are not content)."""
    out = {}
    for path in sorted(folder.iterdir()):
        if path.is_symlink() or not path.is_file():
            continue
        out[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("hostile")
    return folder, dict(make_corpus(folder))


def test_corpus_is_large_and_varied(corpus: tuple[Path, dict[str, str]]) -> None:
    _folder, expect = corpus
    assert len(expect) >= 500
    assert {"ok", "error", "either"} == set(expect.values())
    undecided = sorted(name for name, e in expect.items() if e == "either")
    assert undecided == [f"flipped-{k}.jpg" for k in range(4)]  # every other file has a stated outcome


def test_batch_survives_every_hostile_input(corpus: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    folder, expect = corpus
    before = fingerprint(folder)
    out = tmp_path / "out"
    started = time.monotonic()
    timings: list[float] = []
    last = [time.monotonic()]

    def on_update(item: batch.BatchItem) -> None:
        now = time.monotonic()
        if item.status != "running":
            timings.append(now - last[0])
        last[0] = now

    report = batch.run_batch([folder / name for name in expect], batch.BatchOptions.of(out_dir=out, model="bicubic",
                                                                                     scale=2), on_update=on_update)
    assert time.monotonic() - started < 300 and max(timings) < 30  # no hang on any file
    assert fingerprint(folder) == before  # every original byte-for-byte unchanged
    wrong = []
    for item in report.items:
        wanted = expect[item.source.name]
        assert item.status in ("done", "failed")
        assert "unexpected error" not in item.message, item.message  # a crash caught by the batch is still a bug
        if item.status == "failed":
            assert item.message.startswith(item.source.name + ":") and "\n" not in item.message
            assert item.output is None
        if (wanted == "ok" and item.status != "done") or (wanted == "error" and item.status != "failed"):
            wrong.append((item.source.name, wanted, item.status, item.message))
    assert not wrong
    written = sorted(p.name for p in out.iterdir())
    assert not [n for n in written if n.endswith(".part")]  # no partial files
    assert len(written) == sum(len(i.outputs) for i in report.items)
    for item in report.items:
        for path in item.outputs:
            assert imageio.load(path).pixels.size > 0  # every output is a complete, readable image


def test_cli_over_the_corpus_reports_and_never_tracebacks(corpus: tuple[Path, dict[str, str]],
                                                          tmp_path: Path) -> None:
    folder, _ = corpus
    done = subprocess.run([sys.executable, "-m", "srdesk.cli", "enhance", str(folder), "-o", str(tmp_path / "o"),
                           "-m", "nearest", "-s", "2"], capture_output=True, timeout=600,
                          encoding="utf-8", errors="replace")  # non-UTF-8 names are echoed as bytes
    assert done.returncode == 1  # some files failed, and that is reported
    assert "Traceback" not in done.stderr
    assert "enlarged" in done.stderr and "failed" in done.stderr


def test_vanishing_file(tmp_path: Path) -> None:
    src = tmp_path / "gone.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(src)
    sources = batch.collect_inputs([tmp_path])
    src.unlink()
    report = batch.run_batch(sources, batch.BatchOptions.of(out_dir=tmp_path / "out", model="bicubic"))
    assert report.items[0].status == "failed" and "not found" in report.items[0].message


@pytest.fixture
def three_photos(tmp_path: Path) -> list[Path]:
    paths = []
    for i in range(3):
        path = tmp_path / f"p{i}.png"
        Image.fromarray(np.full((16, 16, 3), 60 * i, np.uint8)).save(path)
        paths.append(path)
    return paths


def test_unwritable_output_folder(three_photos: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    out.mkdir()

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(imageio.tempfile, "mkstemp", refuse)  # what a read-only folder does (even to root)
    report = batch.run_batch(three_photos, batch.BatchOptions.of(out_dir=out, model="bicubic"))
    assert [i.status for i in report.items] == ["failed"] * 3
    assert all("cannot write" in i.message and "Permission denied" in i.message for i in report.items)
    assert list(out.iterdir()) == []


def test_disk_full(three_photos: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(imageio.os, "fsync", full)
    report = batch.run_batch(three_photos, batch.BatchOptions.of(out_dir=out, model="bicubic"))
    assert [i.status for i in report.items] == ["failed"] * 3
    assert all("disk is full" in i.message for i in report.items)
    assert list(out.iterdir()) == []


def test_collisions_and_output_equal_to_input(three_photos: list[Path]) -> None:
    folder = three_photos[0].parent
    before = fingerprint(folder)
    options = batch.BatchOptions.of(out_dir=folder, model="nearest", scale=2, pattern="{stem}.{ext}")
    first = batch.run_batch(three_photos, options)
    assert [i.output.name for i in first.items if i.output] == ["p0-2.png", "p1-2.png", "p2-2.png"]
    again = batch.run_batch(three_photos, options)
    assert [i.output.name for i in again.items if i.output] == ["p0-3.png", "p1-3.png", "p2-3.png"]
    after = fingerprint(folder)
    assert {k: after[k] for k in before} == before


@settings(max_examples=15, deadline=None)
@given(cancel_after=st.integers(1, 40))
def test_cancel_at_random_moments_leaves_a_consistent_batch(tiny_model_entry, cancel_after: int,
                                                            tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("cancel")
    sources = []
    for i in range(4):
        path = folder / f"c{i}.png"
        Image.fromarray((np.random.default_rng(i).random((40, 40, 3)) * 255).astype(np.uint8)).save(path)
        sources.append(path)
    out = folder / "out"
    cancel = threading.Event()
    ticks = [0]

    def progress(item: batch.BatchItem, done: int, total: int) -> None:
        ticks[0] += 1
        if ticks[0] >= cancel_after:
            cancel.set()

    options = batch.BatchOptions.of(out_dir=out, model="tiny-mod-x4", scale=4, tile=16, device="cpu")
    report = batch.run_batch(sources, options, progress=progress, cancel=cancel)
    files = sorted(p.name for p in out.iterdir())
    assert not [f for f in files if f.endswith(".part")]
    done = [i for i in report.items if i.status == "done"]
    assert files == sorted(i.output.name for i in done if i.output)
    assert all(i.status in ("done", "waiting") for i in report.items)
    statuses = [i.status for i in report.items]
    assert statuses == sorted(statuses, key=lambda s: s != "done")  # done ones first, then the rest untouched
    rerun = batch.run_batch(sources, batch.BatchOptions.of(out_dir=out, model="tiny-mod-x4", scale=4, tile=16,
                                                        device="cpu"))
    assert rerun.count("done") == 4  # the next run works


@pytest.fixture(scope="module")
def tiny_model_entry():
    """Module-scoped twin of the tiny_model fixture (hypothesis re-runs the test body)."""
    import torch

    from srdesk.models import registry
    from srdesk.models.srresnet import SRResNet

    def build() -> torch.nn.Module:
        torch.manual_seed(0)
        return SRResNet(scale=4, num_blocks=1, channels=8, batch_norm=False, image_skip=True)

    registry.register(registry.ModelEntry("tiny-mod-x4", "learned", "tiny", scale=4, build=build,
                                          receptive_radius=10))
    pipeline.clear_model_cache()
    yield
    registry.unregister("tiny-mod-x4")
    pipeline.clear_model_cache()


def test_killed_process_leaves_only_temporaries_that_the_next_run_removes(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray((np.random.default_rng(0).random((700, 900, 3)) * 255).astype(np.uint8)).save(src / "big.png")
    out = tmp_path / "out"
    out.mkdir()
    # a write that was interrupted by a kill: a temporary whose process is gone
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    (out / f".srdesk-{victim.pid}-xyz.part").write_bytes(b"half a png")
    proc = subprocess.Popen([sys.executable, "-m", "srdesk.cli", "enhance", str(src), "-o", str(out), "-m", "fft",
                             "-s", "4", "-f", "png"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    victim.kill()
    victim.wait()
    leftovers = [p.name for p in out.iterdir()]
    assert all(n.endswith(".part") or n == "big_x4_fft.png" for n in leftovers)
    if "big_x4_fft.png" in leftovers:  # finished before the kill: then it must be complete
        assert Image.open(out / "big_x4_fft.png").size == (3600, 2800)
    batch.run_batch([src / "big.png"], batch.BatchOptions.of(out_dir=out, model="nearest", scale=2))
    assert not [p for p in out.iterdir() if p.name.endswith(".part")]


def test_gpu_out_of_memory_falls_back_to_smaller_tiles(tiny_model, photo: np.ndarray,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    upscaler = pipeline.get_upscaler("tiny-x4", "cpu")
    reference = pipeline.enhance(photo, upscaler, 4, tile=64, overlap=12).pixels
    real_run = upscaler.run

    def picky(batch_tensor: torch.Tensor) -> torch.Tensor:
        if batch_tensor.shape[-1] * batch_tensor.shape[-2] > 40 * 40:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return real_run(batch_tensor)

    monkeypatch.setattr(upscaler, "run", picky)
    smaller = pipeline.enhance(photo, upscaler, 4, tile=64, overlap=12).pixels
    assert np.abs(smaller - reference).max() < 1 / 255


@settings(max_examples=60, deadline=None)
@given(h=st.integers(1, 90), w=st.integers(1, 90), tile=st.integers(1, 40), overlap=st.integers(0, 12))
def test_property_tiles_cover_every_pixel_once(h: int, w: int, tile: int, overlap: int) -> None:
    covered = np.zeros((h, w), dtype=np.int32)
    for t in plan_tiles(h, w, tile, overlap):
        y0, x0 = t.core_origin
        covered[y0 : y0 + t.core_bottom - t.core_top, x0 : x0 + t.core_right - t.core_left] += 1
        assert t.top >= 0 and t.left >= 0 and t.bottom <= h and t.right <= w
        assert t.core_top <= overlap and t.core_left <= overlap
    assert (covered == 1).all()


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 30), w=st.integers(1, 30), scale=st.integers(2, 4), seed=st.integers(0, 1000))
def test_property_tiled_equals_untiled(tiny_model_entry, h: int, w: int, scale: int, seed: int) -> None:
    image = np.random.default_rng(seed).random((h, w, 3)).astype(np.float32)
    whole = pipeline.enhance(image, "tiny-mod-x4", scale, tile=64, overlap=12, device="cpu").pixels
    tiled = pipeline.enhance(image, "tiny-mod-x4", scale, tile=7, overlap=12, device="cpu").pixels
    assert np.abs(whole - tiled).max() < 1 / 255


def test_no_output_file_when_loading_fails(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff" + os.urandom(100))
    report = batch.run_batch([bad], batch.BatchOptions.of(out_dir=tmp_path / "o", model="bicubic"))
    assert report.items[0].status == "failed"
    assert list((tmp_path / "o").iterdir()) == []


def test_out_of_memory_at_the_smallest_tile_finishes_on_a_cpu_copy(tiny_model, photo: np.ndarray,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The run finishes on a CPU copy; the cached model stays on its device for the next photo."""
    import torch

    upscaler = pipeline.get_upscaler("tiny-x4", "cpu")
    reference = pipeline.enhance(photo, upscaler, 4, tile=64, overlap=12).pixels
    upscaler.device = torch.device("meta")  # pretend to be a GPU that is always full
    copies: list[str] = []
    real_copy = upscaler.cpu_copy

    def always_full(batch_tensor: torch.Tensor) -> torch.Tensor:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")

    def record_copy() -> object:
        copies.append("cpu")
        return real_copy()

    monkeypatch.setattr(upscaler, "run", always_full)
    monkeypatch.setattr(upscaler, "cpu_copy", record_copy)
    result = pipeline.enhance(photo, upscaler, 4, tile=64, overlap=12)
    assert copies == ["cpu"]
    assert upscaler.device.type == "meta"  # the cached model was not moved
    assert pipeline.get_upscaler("tiny-x4", "cpu") is upscaler
    assert any("CPU" in note for note in result.meta.notes)
    assert np.abs(result.pixels - reference).max() < 1 / 255
