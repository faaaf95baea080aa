"""Batch and the CLI: naming, never overwriting, going on past bad files, exit codes, eval."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srdesk import cli
from srdesk.engine import batch
from tests.conftest import REPO, shared_data


@pytest.fixture
def folder(tmp_path: Path, rng: np.random.Generator) -> Path:
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    Image.fromarray((rng.random((8, 10, 3)) * 255).astype(np.uint8)).save(src / "a.png")
    Image.fromarray((rng.random((6, 6, 3)) * 255).astype(np.uint8)).save(src / "b.jpg")
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    Image.fromarray((rng.random((4, 4, 3)) * 255).astype(np.uint8)).save(src / "sub" / "c.webp")
    (src / "notes.txt").write_text("not an image")
    return src


def test_collect_inputs(folder: Path) -> None:
    flat = [p.name for p in batch.collect_inputs([folder])]
    assert flat == ["a.png", "b.jpg", "broken.png"]
    deep = [p.name for p in batch.collect_inputs([folder], recursive=True)]
    assert sorted(deep) == ["a.png", "b.jpg", "broken.png", "c.webp"]


def test_batch_goes_on_past_a_bad_file(folder: Path, tmp_path: Path) -> None:
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    options = batch.BatchOptions.of(out_dir=tmp_path / "out", model="bicubic", scale=2)
    report = batch.run_batch(batch.collect_inputs([folder], recursive=True), options)
    status = {i.source.name: i.status for i in report.items}
    assert status == {"a.png": "done", "b.jpg": "done", "broken.png": "failed", "c.webp": "done"}
    failed = next(i for i in report.items if i.status == "failed")
    assert failed.message.startswith("broken.png:")
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["a_x2_bicubic.png", "b_x2_bicubic.jpg", "c_x2_bicubic.webp"]
    assert Image.open(tmp_path / "out" / "a_x2_bicubic.png").size == (20, 16)
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    assert report.summary() == "3 enlarged, 1 failed, 0 skipped"


def test_second_run_does_not_overwrite(folder: Path, tmp_path: Path) -> None:
    options = batch.BatchOptions.of(out_dir=tmp_path / "out", model="nearest", scale=2, fmt="png")
    batch.run_batch([folder / "a.png"], options)
    first = (tmp_path / "out" / "a_x2_nearest.png").read_bytes()
    report = batch.run_batch([folder / "a.png"], options)
    assert report.items[0].output == tmp_path / "out" / "a_x2_nearest-2.png"
    assert (tmp_path / "out" / "a_x2_nearest.png").read_bytes() == first


def test_output_into_the_input_folder_keeps_originals(folder: Path) -> None:
    options = batch.BatchOptions.of(out_dir=folder, model="nearest", scale=2, pattern="{stem}.{ext}")
    report = batch.run_batch([folder / "a.png"], options)
    assert report.items[0].output == folder / "a-2.png"


def test_bad_pattern(folder: Path, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="pattern"):
        batch.output_path(folder / "a.png", batch.BatchOptions.of(out_dir=tmp_path, pattern="{nope}.png"))


def test_cli_enhance_exit_codes(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["enhance", str(folder / "a.png"), "-o", str(tmp_path / "o"), "-m", "hermite", "-s", "3"]) == 0
    assert Image.open(tmp_path / "o" / "a_x3_hermite.png").size == (30, 24)
    code = cli.main(["enhance", str(folder), "-o", str(tmp_path / "o2"), "-m", "bicubic"])
    err = capsys.readouterr().err
    assert code == 1 and "FAILED broken.png" in err and "2 enlarged, 1 failed" in err
    assert cli.main(["enhance", str(folder / "a.png"), "-o", str(tmp_path / "o3"), "-m", "nonsense"]) == 2
    assert "unknown model" in capsys.readouterr().err


def test_cli_models_lists_everything(capsys: pytest.CaptureFixture[str]) -> None:
    from srdesk.models import registry

    assert cli.main(["models"]) == 0
    out = capsys.readouterr().out
    for entry in registry.entries():
        assert entry.name in out


def test_cli_runs_as_a_program(tmp_path: Path) -> None:
    sample = REPO / "resources" / "sample-osprey.jpg"
    done = subprocess.run([sys.executable, "-m", "srdesk.cli", "enhance", str(sample), "-o", str(tmp_path),
                           "-m", "bilinear", "-s", "2"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert Image.open(tmp_path / "sample-osprey_x2_bilinear.jpg").size == (960, 540)


@pytest.mark.data
def test_eval_bicubic_set5_matches_the_literature(capsys: pytest.CaptureFixture[str]) -> None:
    """The protocol's bicubic baseline on Set5 x4: 28.42 dB in the literature, 28.43 dB for these files."""
    set5 = shared_data("benchmarks", "Set5")
    assert cli.main(["eval", "--model", "bicubic", "--dataset", str(set5), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert abs(result["mean_psnr"] - 28.42) < 0.1
    assert 0.80 < result["mean_ssim"] < 0.82
    assert len(result["images"]) == 5


@pytest.mark.parametrize("existing, expected", [("rename", b"old"), ("skip", b"old"), ("overwrite", None)])
def test_existing_outputs_rename_skip_or_overwrite(tmp_path: Path, existing: str, expected: bytes | None) -> None:
    src = tmp_path / "a.png"
    Image.fromarray(np.full((4, 4, 3), 100, np.uint8)).save(src)
    out = tmp_path / "out"
    out.mkdir()
    (out / "a_x2_nearest.png").write_bytes(b"old")
    code = cli.main(["enhance", str(src), "-o", str(out), "-m", "nearest", "-s", "2", "--existing", existing])
    assert code == 0
    names = sorted(p.name for p in out.iterdir())
    if existing == "rename":
        assert names == ["a_x2_nearest-2.png", "a_x2_nearest.png"]
    else:
        assert names == ["a_x2_nearest.png"]
    content = (out / "a_x2_nearest.png").read_bytes()
    assert content == expected if expected is not None else content.startswith(b"\x89PNG")


def test_a_result_too_large_for_its_format_fails_before_the_work_with_what_to_do(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """WebP holds 16383 pixels on a side, JPEG 65535: said before enlarging, the other files go on."""
    from srdesk.core import imageio
    from srdesk.core.errors import OutputError

    wide = tmp_path / "wide.webp"
    Image.fromarray(np.full((2, 4100, 3), 90, np.uint8)).save(wide, lossless=True)
    small = tmp_path / "small.webp"
    Image.fromarray(np.full((4, 4, 3), 90, np.uint8)).save(small, lossless=True)
    enlarged: list[tuple[int, ...]] = []
    real_run = batch.pipeline.run
    monkeypatch.setattr(batch.pipeline, "run", lambda request, image, *a: enlarged.append(image.pixels.shape)
                        or real_run(request, image, *a))
    code = cli.main(["enhance", str(wide), str(small), "-o", str(tmp_path / "out"), "-m", "nearest", "-s", "4"])
    err = capsys.readouterr().err
    assert code == 1 and "FAILED wide.webp: a WebP file holds at most 16383 pixels" in err and "PNG" in err
    assert enlarged == [(4, 4, 3)], "the photo whose result cannot be saved was not enlarged"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["small_x4_nearest.webp"]
    assert cli.main(["enhance", str(wide), "-o", str(tmp_path / "png"), "-m", "nearest", "-s", "4", "--format",
                     "png"]) == 0  # the way out the message names
    # saving (the GUI's Save as) says the same instead of a codec's error
    image = imageio.from_array(np.zeros((2, 70_000, 3), np.float32))
    with pytest.raises(OutputError, match="JPEG file holds at most 65535"):
        imageio.save(image, tmp_path / "wide.jpg")
    assert not (tmp_path / "wide.jpg").exists()
