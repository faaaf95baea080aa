"""The protocol every upscaler meets, classical or learned.

The pipeline asks each upscaler only this: its name, its native scale (None:
any scale), its input channels, whether it is learned, and to enlarge. A
learned upscaler works on (N, C, H, W) float tensors in [0, 1] on its device
and says how much context (``receptive_radius``, input pixels) a tile needs;
a classical one resizes a whole numpy image to any size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from srdesk.core import resample

if TYPE_CHECKING:
    import torch
    from torch import nn


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
    name: str
    scale: int | None
    in_channels: int
    learned: bool


class ClassicalUpscaler:
    learned = False
    in_channels = 3
    scale: int | None = None

    def __init__(self, name: str, method: str) -> None:
        self.name = name
        self.method = method

    def resize(self, image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        return resample.resize(image, size, self.method)


@dataclass
class TorchUpscaler:
    name: str
    module: nn.Module
    scale: int
    device: torch.device
    fp16: bool = False  # CUDA: half precision (models whose card says it is safe)
    cpu_bf16: bool = False  # CPU: bfloat16 autocast (CPUs with native bf16 only)
    receptive_radius: int = 16
    bytes_per_input_pixel: int = 64 * 1024
    in_channels: int = 3
    learned: bool = True
    card: dict[str, Any] | None = None

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

    def run(self, batch: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) in [0, 1] -> (N, C, sH, sW) float32 on the CPU, not clipped."""
        import torch

        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.cpu_bf16):
            x = batch.to(self.device, dtype=torch.float16 if self.fp16 else torch.float32, non_blocking=True)
            x = x.contiguous(memory_format=torch.channels_last)
            return self.module(x).float().cpu()  # channels_last: its (H, W, C) view is contiguous


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
    learned: bool = True
    card: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.module.eval().requires_grad_(False)
        self.module.to(self.device)

    def sample(self, batch: torch.Tensor, temperature: float, uniforms: torch.Tensor,
               progress: Any = None, cancel: Any = None) -> torch.Tensor:
        from srdesk.models.pixel_recursive import PixelRecursiveSR, sample_fast

        assert isinstance(self.module, PixelRecursiveSR)
        return sample_fast(self.module, batch.to(self.device), temperature, uniforms, progress, cancel).cpu()
