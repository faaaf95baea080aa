"""The protocol every upscaler meets, classical, learned or sampling.

The engine asks each upscaler only this: its name, its ``kind``, its native
scale (None: any scale), and to ``enlarge`` an (H, W, C) float32 image to a
size under an :class:`~srdesk.core.request.EnhanceRequest`, returning one
image (or several, for a sampling model). How it does so is the class's own
business: a classical method resizes the whole image, a convolutional model
runs tile by tile with enough context (:mod:`srdesk.models.tiled`), a
sampling model draws pixel by pixel (:mod:`srdesk.models.sampling`). The
engine never asks "which kind are you?".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from srdesk.core import resample
from srdesk.core.imageio import quantize
from srdesk.core.request import CancelToken, EnhanceRequest, ProgressFn

if TYPE_CHECKING:
    import torch
    from torch import nn

    from srdesk.models.weights import ModelCard


def fuse_batch_norm(module: nn.Module) -> nn.Module:
    """Fold every inference-mode BatchNorm that directly follows a convolution into that convolution.

    The result computes the same function with one operation less per pair
    (a BN SRResNet 16x64 has 33 of them). Uses torch.fx; a module without
    BatchNorm, or one fx cannot trace, is returned unchanged.
    """
    import torch
    from torch import fx
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    if not any(isinstance(m, torch.nn.BatchNorm2d) for m in module.modules()):
        return module
    try:
        graph_module = fx.symbolic_trace(module)
    except Exception:  # tracing is an optimisation only
        return module
    modules = dict(graph_module.named_modules())
    for node in list(graph_module.graph.nodes):
        if node.op != "call_module" or not isinstance(modules.get(node.target), torch.nn.BatchNorm2d):
            continue
        source = node.args[0]
        if (not isinstance(source, fx.Node) or source.op != "call_module" or len(source.users) != 1
                or not isinstance(modules.get(source.target), torch.nn.Conv2d)):
            continue
        fused = fuse_conv_bn_eval(modules[source.target], modules[node.target])
        parent_name, _, attr = str(source.target).rpartition(".")
        setattr(graph_module.get_submodule(parent_name) if parent_name else graph_module, attr, fused)
        node.replace_all_uses_with(source)
        graph_module.graph.erase_node(node)
    graph_module.graph.lint()
    graph_module.recompile()
    graph_module.delete_all_unused_submodules()
    return graph_module


@runtime_checkable
class Upscaler(Protocol):
    # read-only members: classes may provide them as class or instance attributes
    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str:  # "classical" | "learned" | "sampler"
        ...

    @property
    def scale(self) -> int | None:  # native scale; None: any
        ...

    @property
    def default_threads(self) -> int:  # CPU threads when the request leaves it to srdesk (0: the physical cores)
        ...

    @property
    def alpha_method(self) -> str:  # how the alpha channel (enlarged on its own) is resized
        ...

    def enlarge(self, pixels: np.ndarray, size: tuple[int, int], request: EnhanceRequest,
                progress: ProgressFn | None = None, cancel: CancelToken | None = None,
                notes: list[str] | None = None, bits: int = 0) -> list[np.ndarray]:
        """(H, W, C) float32 in [0, 1] (classical methods: also uint8/uint16 levels) -> results of ``size``:
        float32, not clipped, or with ``bits`` 8/16 uint8/uint16 (made without a float copy of the whole
        result where the method allows); ``notes`` collects what the user should be told (e.g. a fallback)."""
        ...


class ClassicalUpscaler:
    kind: ClassVar[str] = "classical"
    default_threads: ClassVar[int] = 0
    in_channels = 3
    scale: int | None = None

    def __init__(self, name: str, method: str) -> None:
        self.name = name
        self.method = method
        self.alpha_method = method

    def resize(self, image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        return resample.resize(image, size, self.method)

    def enlarge(self, pixels: np.ndarray, size: tuple[int, int], request: EnhanceRequest,
                progress: ProgressFn | None = None, cancel: CancelToken | None = None,
                notes: list[str] | None = None, bits: int = 0) -> list[np.ndarray]:
        out = resample.resize_levels(pixels, size, self.method, bits)
        if progress:
            progress(1, 1)
        return [out]


@dataclass
class TorchUpscaler:
    """A convolutional model: any image size, run tile by tile with ``receptive_radius`` px of context."""

    name: str
    module: nn.Module
    scale: int
    device: torch.device
    fp16: bool = False  # CUDA: half precision (models whose card says it is safe)
    cpu_bf16: bool = False  # CPU: bfloat16 autocast (CPUs with native bf16 only)
    receptive_radius: int = 16
    bytes_per_input_pixel: int = 64 * 1024
    in_channels: int = 3
    card: ModelCard | None = None
    align: int = 1  # tiles (with their context) start on multiples of this: window-attention models
    kind: ClassVar[str] = "learned"
    alpha_method: ClassVar[str] = "bicubic"
    default_threads: ClassVar[int] = 0  # 0: the physical cores (large convolutions scale with cores)

    def __post_init__(self) -> None:
        self.module = fuse_batch_norm(self.module.eval().requires_grad_(False))
        self.move_to(self.device)

    def move_to(self, device: torch.device) -> None:
        """Put the model on ``device`` (fp16 only stays on CUDA)."""
        import torch

        self.device = device
        self.fp16 = self.fp16 and device.type == "cuda"
        self.cpu_bf16 = self.cpu_bf16 and device.type == "cpu"
        self.module.to(device)
        self.module.float()
        # NHWC: oneDNN's CPU convolutions and cuDNN's tensor cores both prefer it
        # (measured on CPU: SRResNet 16x64 on 256x256, 3.42 s -> 2.70 s).
        self.module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        if self.fp16:
            self.module.half()

    def cpu_copy(self) -> TorchUpscaler:
        """A separate copy on the CPU, for one run that no longer fits the GPU; this one stays as it is."""
        import copy

        import torch

        module = copy.deepcopy(self.module).float().cpu()
        return TorchUpscaler(self.name, module, self.scale, torch.device("cpu"), receptive_radius=self.receptive_radius,
                             bytes_per_input_pixel=self.bytes_per_input_pixel, in_channels=self.in_channels,
                             card=self.card, align=self.align)

    @property
    def positional(self) -> bool:
        """Whether the result depends on where a tile lies in the image (a drawn texture): :meth:`run` then takes
        the tile's ``origin``."""
        return bool(getattr(self.module, "positional", False))

    def run(self, batch: torch.Tensor, origin: tuple[int, int] = (0, 0)) -> torch.Tensor:
        """(N, C, H, W) in [0, 1] -> (N, C, sH, sW) float32 on the CPU, not clipped. ``origin``: where the batch
        starts in the whole image (input pixels), for models whose result depends on it (drawn texture)."""
        import torch

        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.cpu_bf16):
            x = batch.to(self.device, dtype=torch.float16 if self.fp16 else torch.float32, non_blocking=True)
            x = x.contiguous(memory_format=torch.channels_last)
            out = self.module(x, origin=origin) if self.positional else self.module(x)
            return out.float().cpu()  # channels_last: its (H, W, C) view is contiguous

    def enlarge(self, pixels: np.ndarray, size: tuple[int, int], request: EnhanceRequest,
                progress: ProgressFn | None = None, cancel: CancelToken | None = None,
                notes: list[str] | None = None, bits: int = 0) -> list[np.ndarray]:
        from srdesk.models.tiled import enlarge_tiled

        return [enlarge_tiled(self, pixels, size, request, progress, cancel, notes, bits_for=bits)]


@dataclass
class SamplingUpscaler:
    """A model that draws several plausible enlargements (Pixel Recursive SR).

    It works on fixed ``tile`` x ``tile`` input tiles (the size it was trained
    on); ``sample`` takes (N, 3, tile, tile) in [0, 1] and returns 8-bit
    levels (N, 3, tile*scale, tile*scale), reporting progress per output row.
    """

    name: str
    module: nn.Module
    scale: int
    device: torch.device
    tile: int = 8
    in_channels: int = 3
    card: ModelCard | None = None
    kind: ClassVar[str] = "sampler"
    alpha_method: ClassVar[str] = "bicubic"
    # Thousands of tiny per-sub-pixel steps: with more than one OpenMP thread they spend their time
    # spinning and waiting on each other, 5-10x slower on a busy 2-core machine (bench/pixel_recursive_cli.py).
    default_threads: ClassVar[int] = 1

    def __post_init__(self) -> None:
        self.module.eval().requires_grad_(False)
        self.module.to(self.device)

    def sample(self, batch: torch.Tensor, temperature: float, uniforms: torch.Tensor,
               progress: Any = None, cancel: Any = None) -> torch.Tensor:
        from srdesk.models.pixel_recursive import PixelRecursiveSR, sample_fast

        assert isinstance(self.module, PixelRecursiveSR)
        return sample_fast(self.module, batch.to(self.device), temperature, uniforms, progress, cancel).cpu()

    def enlarge(self, pixels: np.ndarray, size: tuple[int, int], request: EnhanceRequest,
                progress: ProgressFn | None = None, cancel: CancelToken | None = None,
                notes: list[str] | None = None, bits: int = 0) -> list[np.ndarray]:
        from srdesk.models.sampling import draw_samples

        samples = draw_samples(self, pixels, size, request, progress, cancel)
        return [quantize(s, bits) for s in samples] if bits else samples

    def estimate_seconds(self, height: int, width: int, samples: int) -> float:
        from srdesk.models.sampling import estimate_seconds

        return estimate_seconds(self, height, width, samples)
