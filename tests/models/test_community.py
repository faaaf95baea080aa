"""PyTorch community models through spandrel: three families with random weights, saved as users have them."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from srdesk.models.community import INSTALL_HINT, spandrel_available

if not spandrel_available():
    pytest.skip(f"spandrel is not installed ({INSTALL_HINT})", allow_module_level=True)

from srdesk.core.errors import InvalidParameter, ModelCorrupt
from srdesk.core.request import EnhanceRequest
from srdesk.engine import pipeline, user_models
from srdesk.models import registry
from srdesk.models.community import import_spandrel, load_file, read_state_dict


def _networks() -> dict[str, tuple[torch.nn.Module, int]]:
    import_spandrel()
    from spandrel.architectures.ESRGAN import ESRGAN
    from spandrel.architectures.SPAN import SPAN
    from spandrel.architectures.SwinIR import SwinIR

    torch.manual_seed(0)
    nets = {
        "esrgan-tiny": (ESRGAN(in_nc=3, out_nc=3, num_filters=16, num_blocks=1, scale=4), 4),
        "span-tiny": (SPAN(num_in_ch=3, num_out_ch=3, feature_channels=16, upscale=4), 4),
        "swinir-tiny": (SwinIR(upscale=2, in_chans=3, img_size=32, window_size=8, img_range=1.0, depths=[2],
                               embed_dim=24, num_heads=[2], mlp_ratio=2, upsampler="pixelshuffledirect"), 2),
    }
    probe = torch.rand(1, 3, 24, 24)
    for net, _scale in nets.values():  # outputs around mid-grey with a spread of 0.1: nothing hidden by clipping
        net.eval()
        last = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)][-1]
        with torch.no_grad():
            last.weight.mul_(0.1 / float(net(probe).std()))
            if last.bias is not None:
                last.bias.fill_(0.0)
                last.bias.add_(0.5 - float(net(probe).mean()))
    return nets


@pytest.fixture(scope="module")
def model_files(tmp_path_factory) -> dict[str, Path]:
    from safetensors.torch import save_file

    folder = tmp_path_factory.mktemp("community")
    files = {}
    for k, (name, (net, _scale)) in enumerate(_networks().items()):
        state = {key: value.contiguous() for key, value in net.state_dict().items()}
        if k % 2:  # both formats users have: .pth (a pickled dict of tensors) and .safetensors
            path = folder / f"{name}.pth"
            torch.save({"params_ema": state}, path)  # BasicSR's training wrapper, as released models have it
        else:
            path = folder / f"{name}.safetensors"
            save_file(state, str(path))
        files[name] = path
    return files


@pytest.mark.parametrize("name", ["esrgan-tiny", "span-tiny", "swinir-tiny"])
def test_a_family_loads_runs_and_tiles_seamlessly(model_files: dict[str, Path], name: str) -> None:
    found = load_file(model_files[name])
    scale = _networks()[name][1]
    assert found.scale == scale
    entry = registry.ModelEntry(name, "learned", "test", path=str(model_files[name]), origin="added")
    registry.register(entry)
    pipeline.clear_model_cache()
    try:
        image = np.random.default_rng(0).random((70, 75, 3)).astype(np.float32)  # tiles start past the origin
        whole = pipeline.run(EnhanceRequest(model=name, scale=scale, device="cpu", precision="exact", tile=1000),
                             image)[0].pixels
        tiled = pipeline.run(EnhanceRequest(model=name, scale=scale, device="cpu", precision="exact", tile=20),
                             image)[0].pixels
        assert whole.shape == (70 * scale, 75 * scale, 3)
        assert np.abs(tiled - whole).max() < 1 / 255
        assert whole.std() > 0.03  # a real picture came out, not a constant
        seamy = pipeline.run(EnhanceRequest(model=name, scale=scale, device="cpu", precision="exact", tile=20,
                                            overlap=0), image)[0].pixels
        assert np.abs(seamy - whole).max() > 1 / 255  # the context is what makes tiles invisible
    finally:
        registry.unregister(name)
        pipeline.clear_model_cache()


def test_window_attention_tiles_are_aligned(model_files: dict[str, Path]) -> None:
    assert load_file(model_files["swinir-tiny"]).align == 8
    assert load_file(model_files["span-tiny"]).align == 1


class _Payload:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("this ran while loading",))


def test_a_pickle_carrying_code_is_refused(tmp_path: Path, model_files: dict[str, Path], capsys) -> None:
    state = read_state_dict(model_files["span-tiny"])
    bad = tmp_path / "tampered.pth"
    torch.save({"params": state, "hook": _Payload()}, bad)
    with pytest.raises(ModelCorrupt, match="refused"):
        read_state_dict(bad)
    assert "this ran while loading" not in capsys.readouterr().out
    raw = tmp_path / "plain-pickle.pth"
    raw.write_bytes(pickle.dumps(_Payload()))
    with pytest.raises(ModelCorrupt):
        read_state_dict(raw)
    assert "this ran while loading" not in capsys.readouterr().out


def test_broken_and_foreign_files_are_refused_with_a_reason(tmp_path: Path) -> None:
    truncated = tmp_path / "cut.safetensors"
    truncated.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\": 1")
    with pytest.raises(ModelCorrupt, match="safetensors"):
        read_state_dict(truncated)
    zipped = tmp_path / "notamodel.pth"
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(ModelCorrupt):
        read_state_dict(zipped)
    unknown = tmp_path / "unknown.pth"
    torch.save({"weird.weight": torch.zeros(3, 3)}, unknown)
    with pytest.raises(ModelCorrupt, match="no known architecture"):
        load_file(unknown)


def test_a_non_sr_model_is_refused(tmp_path: Path) -> None:
    import_spandrel()
    from spandrel.architectures.DnCNN import DnCNN

    path = tmp_path / "denoiser.pth"
    torch.save(DnCNN().state_dict(), path)
    with pytest.raises(InvalidParameter, match="not a super-resolution model"):
        load_file(path)


def test_added_through_the_models_folder(tmp_path: Path, model_files: dict[str, Path]) -> None:
    folder = tmp_path / "models"
    assert user_models.add(folder, model_files["span-tiny"]) == "span-tiny"
    assert (folder / "span-tiny.pth").exists()
    with pytest.raises(Exception, match="already added"):
        user_models.add(folder, model_files["span-tiny"].with_name("span-tiny.pth"))
    added = registry.add_user_models(folder)
    try:
        assert [e.name for e in added] == ["span-tiny"] and added[0].origin == "added"
        out = pipeline.run(EnhanceRequest(model="span-tiny", scale=4, device="cpu", integer_output=True),
                           np.full((12, 10, 3), 0.5, np.float32))[0]
        assert out.pixels.shape == (48, 40, 3) and out.pixels.dtype == np.uint8
    finally:
        for entry in added:
            registry.unregister(entry.name)
        pipeline.clear_model_cache()
    user_models.remove(folder, "span-tiny")
    assert not list(folder.iterdir())
