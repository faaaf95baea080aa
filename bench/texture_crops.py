"""Texture: how much real detail each method restores (x4, or x2 with ``--scale 2``), and side-by-side crops.

    python bench/texture_crops.py [--models bicubic,srresnet-x4,photo-x2>photo-crisp-x2] [--weights X.safetensors ...]
                                  [--degradation clean|real] [--scale 4|2] [--crops texture|edges]
                                  [--figure docs/texture-crops.png]

PSNR rewards the blurry average; SRGAN is meant to trade a little of it for
texture. Next to Y-PSNR this prints the *detail ratio*: the energy of the
high-pass residual (image minus a Gaussian blur, sigma 1.5) of the result
divided by that of the ground truth, on textured benchmark images. 1.0 means
as much fine detail as the real photo; bicubic is far below it; a sharper
model comes closer. ``--weights`` takes a training run's
``best.safetensors`` (its run's config.json beside it) to compare checkpoints
before shipping one. The figure puts bicubic / each model / HR crops in a row
per image.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

from srdesk.core.evaluate import load_ground_truth, make_pair, score
from srdesk.core.metrics import rgb_to_y, to_uint8
from srdesk.core.request import CancelToken, EnhanceRequest, ProgressFn
from srdesk.engine import pipeline

# (dataset, file, crop box in HR pixels: left, top, size) with fur, foliage, fabric, stone
CROPS = [
    ("Set14", "baboon.png", (20, 300, 120)),
    ("Set14", "barbara.png", (80, 380, 120)),
    ("Set14", "bridge.png", (200, 260, 120)),
    ("BSD68", "253027.png", (180, 160, 120)),
    ("BSD68", "108005.png", (200, 100, 120)),
]
# (--crops edges) soft edges and skin, where a GAN's artefacts show first (dots, blocky edges, fringes)
EDGE_CROPS = [
    ("Set14", "lenna.png", (240, 240, 120)),
    ("Set14", "comic.png", (110, 90, 120)),
    ("Set5", "woman.png", (70, 30, 120)),
]


def detail_ratio(result: np.ndarray, reference: np.ndarray, shave: int) -> float:
    def high_pass_energy(image: np.ndarray) -> float:
        y = rgb_to_y(to_uint8(image) if image.dtype != np.uint8 else image)[shave:-shave, shave:-shave]
        return float(np.mean((y - gaussian_filter(y, 1.5)) ** 2))

    return (high_pass_energy(result) / high_pass_energy(reference)) ** 0.5


def upscaler_from_run(weights: Path) -> pipeline.Upscaler:
    """A TorchUpscaler for a run's weights, of any architecture the trainer has (config.json in its run folder)."""
    from safetensors.torch import load_file

    from srdesk.core.devices import resolve_device
    from srdesk.models import registry
    from srdesk.models.base import TorchUpscaler
    from srdesk.training.sr_trainer import SRConfig

    config = json.loads((run_folder(weights) / "config.json").read_text())
    params = SRConfig(**config).architecture()
    arch = registry.architecture(params["arch"])
    module = arch.build(params)
    module.load_state_dict(load_file(str(weights)))
    return TorchUpscaler(str(weights), module, int(params["scale"]), resolve_device("auto"),
                         receptive_radius=arch.receptive_radius(params))


def run_folder(weights: Path) -> Path:
    """The training run a weights file belongs to: its folder, or the one above for a run's validated/ file."""
    from srdesk.training.trainer import Trainer

    return weights.parent.parent if weights.parent.name == Trainer.validated_dir else weights.parent


@dataclass
class Chain:
    """Models run one after another (``photo-x2>photo-crisp-x2``: x4 by two x2 passes), each at its native
    scale, the result saved as 8 bits in between as a person chaining them would; the last one makes the
    requested size. An Upscaler, so every bench measures it as it measures one model."""

    stages: tuple[pipeline.Upscaler, ...]
    kind: ClassVar[str] = "learned"
    alpha_method: ClassVar[str] = "bicubic"
    default_threads: ClassVar[int] = 0

    @property
    def name(self) -> str:
        return ">".join(stage.name for stage in self.stages)

    @property
    def scale(self) -> int:
        return int(np.prod([stage.scale or 1 for stage in self.stages]))

    def enlarge(self, pixels: np.ndarray, size: tuple[int, int], request: EnhanceRequest,
                progress: ProgressFn | None = None, cancel: CancelToken | None = None,
                notes: list[str] | None = None, bits: int = 0) -> list[np.ndarray]:
        scale, origin = float(request.scale), request.origin
        if scale != self.scale:
            raise ValueError(f"{self.name} enlarges x{self.scale}, not x{scale:g}")
        for stage in self.stages[:-1]:
            native = stage.scale or 1
            middle = stage.enlarge(pixels, (pixels.shape[0] * native, pixels.shape[1] * native),
                                   replace(request, scale=native, origin=origin), cancel=cancel, notes=notes)[0]
            pixels = to_uint8(middle).astype(np.float32) / 255.0
            scale, origin = scale / native, (origin[0] * native, origin[1] * native)
        return self.stages[-1].enlarge(pixels, size, replace(request, scale=scale, origin=origin), progress, cancel,
                                       notes, bits)


def save_mosaic(rows: list[list[np.ndarray]], path: Path, zoom: int = 2, gap: int = 4) -> None:
    """Rows of equal square crops, each enlarged ``zoom`` times by pixel repetition, on white, to ``path``."""
    size = rows[0][0].shape[0]
    cols = max(len(row) for row in rows)
    step = size * zoom + gap
    canvas = np.full((step * len(rows) - gap, step * cols - gap, 3), 255, dtype=np.uint8)
    for r, row in enumerate(rows):
        for c, crop in enumerate(row):
            canvas[r * step:r * step + size * zoom, c * step:c * step + size * zoom] = \
                crop.repeat(zoom, axis=0).repeat(zoom, axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(canvas).save(path)


def named_upscalers(models: str, weights: list[Path], device: str = "auto",
                    skip_missing: bool = False) -> dict[str, pipeline.Upscaler]:
    """The installed models named in ``models`` (comma-separated; ``a>b`` runs ``a`` then ``b``, see Chain; a
    stage may also be a run's weights file) and training runs' weight files, by label (a run's file as
    ``run/file``, so two files of one run stay apart); ``skip_missing`` skips a model that is not installed with
    a message instead of failing."""
    methods: dict[str, pipeline.Upscaler] = {}
    for name in [n for n in models.split(",") if n]:
        try:
            stages = [upscaler_from_run(Path(stage)) if stage.endswith(".safetensors")
                      else pipeline.get_upscaler(stage, device, "exact") for stage in name.split(">")]
            methods[name] = stages[0] if len(stages) == 1 else Chain(tuple(stages))
        except Exception as exc:
            if not skip_missing:
                raise
            print(f"skipping {name}: {exc}", file=sys.stderr)
    for path in weights:
        methods[str(path.relative_to(run_folder(path).parent))] = upscaler_from_run(path)
    return methods


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="bicubic,srresnet-x4,srgan-x4")
    parser.add_argument("--weights", type=Path, nargs="*", default=[])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/benchmarks")
    parser.add_argument("--figure", type=Path, default=None)
    parser.add_argument("--degradation", choices=("clean", "real"), default="clean",
                        help="real: inputs made as photos really come (srdesk-cli eval --degradation real)")
    parser.add_argument("--scale", type=int, choices=(2, 4), default=4)
    parser.add_argument("--crops", choices=("texture", "edges"), default="texture",
                        help="edges: soft edges and skin instead of textures, to look for artefacts")
    args = parser.parse_args()
    scale = args.scale
    methods = named_upscalers(args.models, args.weights, skip_missing=True)

    rows: list[list[np.ndarray]] = []
    totals = {name: [0.0, 0.0] for name in methods}
    for dataset, file, (left, top, size) in (CROPS if args.crops == "texture" else EDGE_CROPS):
        path = args.data / dataset / file
        if not path.exists():
            print(f"missing {path}", file=sys.stderr)
            continue
        hr, lr = make_pair(load_ground_truth(path), scale, args.degradation, key=f"{dataset}/{file}")
        row = []
        for name, upscaler in methods.items():
            sr = pipeline.enhance(lr.astype(np.float32) / 255.0, upscaler, scale).pixels
            psnr, _ = score(sr, hr, scale)
            ratio = detail_ratio(sr, hr, scale)
            totals[name][0] += psnr
            totals[name][1] += ratio
            print(f"{file:14s} {name:40s} Y-PSNR {psnr:6.2f}  detail {ratio:.3f}", file=sys.stderr)
            row.append(to_uint8(sr)[top:top + size, left:left + size])
        row.append(hr[top:top + size, left:left + size])
        rows.append(row)
    n = max(len(rows), 1)
    print("| method | mean Y-PSNR (dB) | detail ratio (1.0 = ground truth) |")
    print("|---|---|---|")
    for name, (psnr, ratio) in totals.items():
        print(f"| {name} | {psnr / n:.2f} | {ratio / n:.3f} |")
    if args.figure and rows:
        save_mosaic(rows, args.figure)
        print(f"figure: {args.figure} (columns: {', '.join([*methods, 'HR'])})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
