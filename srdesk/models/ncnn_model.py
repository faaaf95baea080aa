"""Models people already have in ncnn's format (Upscayl's "custom models": a ``.param`` + ``.bin`` pair).

Run through the official ``ncnn`` Python package (the optional extra ``srdesk[ncnn]``), on the CPU,
tile by tile like srdesk's own models (same progress, cancel, overlap and metadata handling). The
``.param`` file names the input blob (the ``Input`` layer's output) and the output blob (the last
layer's); the scale is found by running the network once on a small input. Pixels go in and come
out as RGB in [0, 1], the convention of the ESRGAN/SPAN family that Upscayl's models belong to.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from srdesk.core.errors import InvalidParameter, ModelCorrupt, ModelMissing
from srdesk.core.request import CancelToken, EnhanceRequest, ProgressFn

if TYPE_CHECKING:
    from collections.abc import Iterator

    import torch

NCNN_MAGIC = "7767517"
DEFAULT_RADIUS = 32  # context for tiles: convolutional SR networks of this family see about this far


def ncnn_available() -> bool:
    """Whether the ncnn package is installed and loads (its wheel needs the system's libomp5)."""
    if importlib.util.find_spec("ncnn") is None:
        return False
    try:
        import ncnn  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


_VULKAN_GPUS: int | None = None


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence the C library's stderr (ncnn prints a line per failed Vulkan driver probe)."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to silence
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def vulkan_gpus() -> int:
    """GPUs ncnn can compute on through Vulkan: 0 without a Vulkan driver. Probed once, quietly."""
    global _VULKAN_GPUS
    if _VULKAN_GPUS is None:
        if not ncnn_available():
            return 0
        import ncnn

        with _quiet_stderr():
            _VULKAN_GPUS = int(ncnn.get_gpu_count())
    return _VULKAN_GPUS


def parse_param(path: Path) -> tuple[str, str]:
    """(input blob, output blob) of an ncnn ``.param`` file; ModelCorrupt if it is not one."""
    try:
        lines = [line.split() for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines()]
    except OSError as exc:
        raise ModelMissing(f"cannot read {Path(path).name}: {exc.strerror}") from exc
    lines = [line for line in lines if line]
    if len(lines) < 3 or lines[0] != [NCNN_MAGIC] or len(lines[1]) != 2:
        raise ModelCorrupt(f"{Path(path).name} is not an ncnn .param file (it must start with {NCNN_MAGIC})")
    layers = lines[2:]
    inputs = [layer for layer in layers if layer[0] == "Input"]
    if not inputs:
        raise ModelCorrupt(f"{Path(path).name} has no Input layer")

    def outputs(layer: list[str]) -> list[str]:
        n_in, n_out = int(layer[2]), int(layer[3])
        return layer[4 + n_in : 4 + n_in + n_out]

    return outputs(inputs[0])[0], outputs(layers[-1])[-1]


@dataclass
class NcnnUpscaler:
    """An ncnn network run on the CPU tile by tile; duck-types :class:`~srdesk.models.base.TorchUpscaler`
    for :func:`srdesk.models.tiled.enlarge_tiled`."""

    name: str
    param: Path
    weights: Path
    threads: int = 0
    vulkan: bool = False  # compute on ncnn's first Vulkan GPU (the CPU otherwise)
    receptive_radius: int = DEFAULT_RADIUS
    bytes_per_input_pixel: int = 16 * 16 * 64
    card: Any = None
    scale: int = field(init=False, default=0)
    kind: ClassVar[str] = "learned"
    alpha_method: ClassVar[str] = "bicubic"
    default_threads: ClassVar[int] = 0

    def __post_init__(self) -> None:
        import torch

        if not ncnn_available():
            raise ModelMissing("ncnn models need the ncnn package: pip install 'srdesk[ncnn]'")
        import ncnn

        self.device = torch.device("cpu")
        self.input_blob, self.output_blob = parse_param(self.param)
        self._net = ncnn.Net()
        from srdesk.core.devices import physical_cores

        self._net.opt.num_threads = self.threads or physical_cores()
        self.vulkan = self.vulkan and vulkan_gpus() > 0
        self._net.opt.use_vulkan_compute = self.vulkan
        if self._net.load_param(str(self.param)) != 0 or self._net.load_model(str(self.weights)) != 0:
            raise ModelCorrupt(f"{self.param.name}/{self.weights.name}: ncnn could not load this model")
        probe = 16
        out = self._run_numpy(np.zeros((3, probe, probe), np.float32))
        if out.ndim != 3 or out.shape[0] != 3 or out.shape[1] % probe or out.shape[1] != out.shape[2]:
            raise InvalidParameter(f"{self.name}: not an RGB enlarging model (output {out.shape} for a "
                                   f"3x{probe}x{probe} input)")
        self.scale = out.shape[1] // probe

    def _run_numpy(self, chw: np.ndarray) -> np.ndarray:
        import ncnn

        # ncnn.Mat wraps the numpy buffer without copying it: keep the array alive until extract() is done
        pixels = np.ascontiguousarray(chw, dtype=np.float32)
        with self._net.create_extractor() as extractor:
            extractor.input(self.input_blob, ncnn.Mat(pixels))
            code, out = extractor.extract(self.output_blob)
            result = np.array(out, copy=True)
        del pixels
        if code != 0:
            raise ModelCorrupt(f"{self.name}: ncnn failed on a tile (code {code})")
        return result

    def run(self, batch: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) in [0, 1] -> (N, 3, sH, sW) float32, tile by tile through ncnn."""
        import torch

        outs = [torch.from_numpy(self._run_numpy(image.numpy())) for image in batch.float()]
        return torch.stack(outs)

    def cpu_copy(self) -> NcnnUpscaler:
        """The same model on the CPU (when the Vulkan GPU ran out of memory)."""
        if not self.vulkan:
            return self
        return NcnnUpscaler(self.name, self.param, self.weights, self.threads, False, self.receptive_radius,
                            self.bytes_per_input_pixel, self.card)

    def enlarge(self, pixels: np.ndarray, size: tuple[int, int], request: EnhanceRequest,
                progress: ProgressFn | None = None, cancel: CancelToken | None = None,
                notes: list[str] | None = None, bits: int = 0) -> list[np.ndarray]:
        from srdesk.models.tiled import enlarge_tiled

        return [enlarge_tiled(self, pixels, size, request, progress, cancel, notes,  # type: ignore[arg-type]
                              bits_for=bits)]
