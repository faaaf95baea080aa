"""The bench tools load a training run's weights: best.safetensors beside config.json, or a validated step."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors.torch import save_file

from bench.texture_crops import named_upscalers
from srdesk.models.span import SPAN
from srdesk.training.sr_trainer import SRConfig


def test_a_runs_best_and_validated_weights_load_with_the_runs_config_and_keep_apart(tmp_path: Path) -> None:
    run = tmp_path / "gan-run"
    (run / "validated").mkdir(parents=True)
    config = SRConfig(run_dir=str(run), arch="span", blocks=2, channels=8, out_refine=4)
    (run / "config.json").write_text(json.dumps(asdict(config)))
    torch.manual_seed(0)
    state = {k: v.contiguous() for k, v in SPAN(4, 2, 8, out_refine=4).state_dict().items()}
    save_file(state, str(run / "best.safetensors"))
    save_file(state, str(run / "validated" / "step-0000500.safetensors"))
    methods = named_upscalers("", [run / "best.safetensors", run / "validated" / "step-0000500.safetensors"],
                              device="cpu")
    assert list(methods) == ["gan-run/best.safetensors", "gan-run/validated/step-0000500.safetensors"]
    assert all(m.scale == 4 for m in methods.values())


def test_two_pass_bench_pairs_two_installed_models_as_first_reduced_then_second() -> None:
    """bench.two_pass's network is the shipped photo-x4 run, its result reduced by MATLAB bicubic and enlarged
    by the shipped clean-x4; models of different sizes or scales are refused."""
    import numpy as np
    import pytest

    from bench.two_pass import two_pass_upscaler
    from srdesk.core.resample import matlab_bicubic
    from srdesk.engine import pipeline

    pair = two_pass_upscaler("photo-x4", "clean-x4")
    photo = np.random.default_rng(0).random((24, 20, 3), dtype=np.float32)

    def enlarge(method: object, image: np.ndarray) -> np.ndarray:
        return pipeline.enhance(image, method, 4, precision="exact", threads=1).pixels

    first = np.clip(enlarge("photo-x4", photo), 0, 1)
    expected = enlarge("clean-x4", matlab_bicubic(first.astype(np.float64), (24, 20)).astype(np.float32))
    assert np.abs(enlarge(pair, photo) - expected).max() < 1e-5
    with pytest.raises(SystemExit, match="not SPANs of one size and scale"):
        two_pass_upscaler("photo-x4", "clean-x2")


def test_a_chain_of_installed_models_is_each_at_its_scale_with_8_bits_in_between() -> None:
    """``photo-x2>photo-crisp-x2`` in a bench's --models is x4: photo-x2's result saved as 8 bits, then
    enlarged by photo-crisp-x2, the same pixels as running the two one after the other."""
    import numpy as np
    import pytest

    from srdesk.core.metrics import to_uint8
    from srdesk.engine import pipeline

    chain = named_upscalers("photo-x2>photo-crisp-x2", [], device="cpu")["photo-x2>photo-crisp-x2"]
    assert chain.scale == 4 and chain.name == "photo-x2>photo-crisp-x2"
    photo = np.random.default_rng(0).random((20, 24, 3), dtype=np.float32)

    def enlarge(method: object, image: np.ndarray, scale: int) -> np.ndarray:
        return pipeline.enhance(image, method, scale, precision="exact", threads=1).pixels

    middle = to_uint8(enlarge("photo-x2", photo, 2)).astype(np.float32) / 255.0
    result = enlarge(chain, photo, 4)
    assert result.shape == (80, 96, 3)
    assert np.abs(result - enlarge("photo-crisp-x2", middle, 2)).max() < 1e-5
    assert np.abs(result - enlarge("photo-x4", photo, 4)).mean() > 1e-3  # not one x4 model
    with pytest.raises(ValueError, match="enlarges x4, not x2"):
        enlarge(chain, photo, 2)
