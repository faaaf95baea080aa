"""PyTorch models people already have (chaiNNer / ComfyUI / OpenModelDB files), through spandrel.

Files are read as *data only*: ``.safetensors`` through safetensors, ``.pth``/``.pt``/``.ckpt``
through ``torch.load(weights_only=True)``, whose unpickler accepts tensors and plain containers
and nothing else; a file that carries Python objects or code is refused with a message, never run.
spandrel (an optional package) then recognises the architecture from the tensor names and shapes
and says the scale, the colour channels, the precisions it supports and the input size it needs.

spandrel declares torchvision as a dependency, but torchvision is tied to one torch version and
would replace srdesk's pinned torch. Only two of spandrel's architectures use it (LaMa, an
inpainting model, and RestoreFormer, a face restorer); none of its super-resolution families do.
So srdesk installs spandrel without its dependencies (``pip install --no-deps spandrel einops``)
and, when torchvision is absent, gives those two modules an inert stand-in while spandrel is
imported (calling it raises); those two models are refused anyway because they are not
super-resolution models.

Tiles: each family gets the context it needs (its exact receptive field where that is small,
else 32 input pixels, where trained networks' influence has long decayed), and window-attention
families get tiles aligned to their window so that tiled equals untiled.
"""

from __future__ import annotations

import importlib.util
import pickle
import sys
import types
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srdesk.core.errors import InvalidParameter, ModelCorrupt, ModelMissing

if TYPE_CHECKING:
    import torch
    from torch import nn

PYTORCH_SUFFIXES = (".pth", ".pt", ".ckpt", ".safetensors")
DEFAULT_RADIUS = 32  # input pixels of tile context for deep families
INSTALL_HINT = "pip install --no-deps spandrel==0.4.2 einops"


def spandrel_available() -> bool:
    return importlib.util.find_spec("spandrel") is not None and importlib.util.find_spec("einops") is not None


def import_spandrel() -> Any:
    """spandrel, imported with an inert torchvision stand-in when torchvision is not installed."""
    if "spandrel" in sys.modules:
        return sys.modules["spandrel"]
    if not spandrel_available():
        raise ModelMissing(f"PyTorch community models need the spandrel package: {INSTALL_HINT}")
    if importlib.util.find_spec("torchvision") is not None:
        import spandrel

        return spandrel
    import enum

    def unavailable(*_args: Any, **_kwargs: Any) -> Any:
        raise ModelMissing("this model needs torchvision, which srdesk does not install (not a super-resolution "
                           "model)")

    names = ("torchvision", "torchvision.transforms", "torchvision.transforms.functional")
    stand_ins = {name: types.ModuleType(name) for name in names}
    functional = stand_ins["torchvision.transforms.functional"]
    functional.InterpolationMode = enum.Enum("InterpolationMode", "NEAREST BILINEAR BICUBIC")  # type: ignore[attr-defined,misc]
    functional.rotate = functional.normalize = unavailable  # type: ignore[attr-defined]
    stand_ins["torchvision"].transforms = stand_ins["torchvision.transforms"]  # type: ignore[attr-defined]
    stand_ins["torchvision.transforms"].functional = functional  # type: ignore[attr-defined]
    sys.modules.update(stand_ins)
    try:
        import spandrel
    finally:  # only spandrel's two non-SR modules hold on to the stand-in; nobody else should find it
        for name in names:
            sys.modules.pop(name, None)
    return spandrel


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a model file, read as data only (never by unpickling arbitrary objects)."""
    import torch

    path = Path(path)
    if not path.exists():
        raise ModelMissing(f"{path.name}: no such file")
    suffix = path.suffix.lower()
    if suffix not in PYTORCH_SUFFIXES:
        raise InvalidParameter(f"{path.name}: srdesk reads PyTorch models as {', '.join(PYTORCH_SUFFIXES)} files")
    if suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            state: Any = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise ModelCorrupt(f"{path.name} is not a readable safetensors file: {exc}") from exc
    else:
        try:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            if "global" not in str(exc).lower():  # not a pickle at all (torch's unpickler says which opcode failed)
                raise ModelCorrupt(f"{path.name} is not a readable PyTorch weights file") from exc
            raise ModelCorrupt(f"{path.name} was refused: it holds Python objects or code besides the weights, which "
                               "srdesk never runs (ask for a .safetensors version of it)") from exc
        except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as exc:
            raise ModelCorrupt(f"{path.name} is not a readable PyTorch weights file: {exc}") from exc
    for key in ("params_ema", "params", "state_dict", "model", "net_g"):  # training wrappers
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelCorrupt(f"{path.name} holds no model weights (a dict of tensors)")
    return {str(k): v for k, v in state.items()}


@dataclass(frozen=True)
class CommunityModel:
    """What spandrel found in a file, in srdesk's terms."""

    module: nn.Module  # (N, C, H, W) in [0, 1] -> (N, C, sH, sW), padding to the size it needs inside
    architecture: str
    scale: int
    fp16: bool
    bf16: bool
    receptive_radius: int
    align: int  # tiles start on multiples of this (window attention)


def _radius(architecture: str, module: nn.Module) -> int:
    """Tile context for a family: the exact field of the shallow all-convolutional ones, else DEFAULT_RADIUS."""
    from torch import nn as torch_nn

    if architecture in ("Compact", "SPAN"):  # plain stacks of 3x3 convolutions at the input's size
        convs = sum(1 for m in module.modules() if isinstance(m, torch_nn.Conv2d) and m.kernel_size[0] > 1)
        return min(DEFAULT_RADIUS, convs + 1)
    return DEFAULT_RADIUS


def _wrap(descriptor: Any) -> nn.Module:
    from torch import nn as torch_nn

    class DescriptorModule(torch_nn.Module):
        """spandrel's call (padding to the size the model needs, then cropping) as a module srdesk can move."""

        def __init__(self) -> None:
            super().__init__()
            self.model = descriptor.model
            self.descriptor = descriptor

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            from spandrel.__helpers.size_req import pad_tensor

            height, width = x.shape[-2:]
            padded, x = pad_tensor(x, self.descriptor.size_requirements)
            out = self.descriptor._call_fn(self.model, x)
            scale = self.descriptor.scale
            return out[..., : height * scale, : width * scale] if padded else out

    return DescriptorModule()


def load_file(path: Path) -> CommunityModel:
    """A ready module for the model in ``path``; refuses what srdesk cannot run, saying why."""
    state = read_state_dict(path)
    spandrel = import_spandrel()
    try:
        descriptor = spandrel.ModelLoader().load_from_state_dict(state)
    except spandrel.UnsupportedModelError as exc:
        raise ModelCorrupt(f"{Path(path).name}: no known architecture matches these weights") from exc
    except (RuntimeError, KeyError, ValueError, AssertionError) as exc:
        raise ModelCorrupt(f"{Path(path).name}: the weights do not fit their architecture: {exc}") from exc
    if not isinstance(descriptor, spandrel.ImageModelDescriptor) or descriptor.purpose != "SR" \
            or descriptor.scale < 2:
        raise InvalidParameter(f"{Path(path).name} is a {descriptor.architecture.name} model "
                               f"({descriptor.purpose}), not a super-resolution model")
    if descriptor.input_channels != 3 or descriptor.output_channels != 3:
        raise InvalidParameter(f"{Path(path).name}: {descriptor.input_channels} -> {descriptor.output_channels} "
                               "channels; srdesk runs colour (RGB to RGB) models")
    requirements = descriptor.size_requirements
    window = getattr(descriptor.model, "window_size", 1)  # Swin-style attention windows
    align = max(1, int(requirements.multiple_of), window if isinstance(window, int) else 1)
    name = descriptor.architecture.id
    module = _wrap(descriptor).eval()
    return CommunityModel(module=module, architecture=name, scale=int(descriptor.scale),
                          fp16=bool(descriptor.supports_half),
                          bf16=bool(descriptor.supports_bfloat16), receptive_radius=_radius(name, module),
                          align=align)
