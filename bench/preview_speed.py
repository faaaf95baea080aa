"""Preview of the part in view against Enhance of the whole photo: time of each and their ratio, one run.

    python -m bench.preview_speed [--photo ../shared/data/train/photos/enlightenment-data_Colorful_Roses.jpg]
                                  [--model photo-x4] [--scale 4] [--repeats 3]

The preview is the largest one the app makes (``regions.PREVIEW_MAX_PIXELS`` of input pixels, the middle of
the photo), through ``regions.enhance_region`` as the GUI runs it; the whole photo through ``pipeline.run``.
Both after one warm-up (the model loaded and its first tile run). Goal: a preview within a few seconds on a
2-core CPU, whatever the photo's size.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.common import median_time
from srdesk.core import imageio
from srdesk.core.request import EnhanceRequest
from srdesk.engine import pipeline, regions

DEFAULT_PHOTO = Path(__file__).resolve().parents[2] / "shared/data/train/photos/enlightenment-data_Colorful_Roses.jpg"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photo", type=Path, default=DEFAULT_PHOTO)
    parser.add_argument("--model", default="photo-x4")
    parser.add_argument("--scale", type=float, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    image = imageio.load(args.photo, levels=True)
    height, width = image.pixels.shape[:2]
    request = EnhanceRequest(model=args.model, scale=args.scale, integer_output=True)
    box = regions.preview_box(regions.Box(0, 0, width, height), height, width)
    regions.enhance_region(request, image, regions.Box(0, 0, min(64, width), min(64, height)))  # warm-up
    preview = median_time(lambda: regions.enhance_region(request, image, box), args.repeats, warmup=0)
    whole = median_time(lambda: pipeline.run(request, image), max(1, args.repeats // 3), warmup=0)
    print(f"{args.photo.name} {width}x{height}, {args.model} x{args.scale:g}")
    print("| what | input MP | s | s per input MP |\n|---|---|---|---|")
    print(f"| preview {box.width}x{box.height} | {box.width * box.height / 1e6:.2f} | {preview:.2f} | "
          f"{preview / (box.width * box.height / 1e6):.2f} |")
    print(f"| whole photo | {width * height / 1e6:.2f} | {whole:.2f} | {whole / (width * height / 1e6):.2f} |")
    print(f"whole / preview: {whole / preview:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
