"""Classical methods: srdesk vs Pillow's own resize (and OpenCV when installed), ~12 MP output.

    python bench/classical_speed.py [--size 1000x750] [--scale 4]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from PIL import Image

from bench.common import median_time
from srdesk.engine import pipeline

PILLOW = {"nearest": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
          "bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="1000x750")
    parser.add_argument("--scale", type=int, default=4)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    image = np.random.default_rng(0).random((height, width, 3)).astype(np.float32)
    as_uint8 = Image.fromarray((image * 255).astype(np.uint8))
    out_size = (width * args.scale, height * args.scale)
    try:
        import cv2  # type: ignore[import-not-found]
    except ImportError:
        cv2 = None
    print(f"output {out_size[0]}x{out_size[1]} ({out_size[0] * out_size[1] / 1e6:.1f} MP)")
    print("| method | srdesk float (s) | Pillow 8-bit (s) | srdesk / Pillow | OpenCV (s) |")
    print("|---|---|---|---|---|")
    for method in ("nearest", "bilinear", "bicubic", "lanczos", "hermite", "bspline", "fft"):
        ours = median_time(lambda m=method: pipeline.enhance(image, m, args.scale), repeats=2)
        ref = ""
        ratio = ""
        if method in PILLOW:
            pil = median_time(lambda m=method: as_uint8.resize(out_size, PILLOW[m]), repeats=2)
            ref, ratio = f"{pil:.2f}", f"{ours / pil:.1f}x"
        cv = ""
        if cv2 is not None and method in ("nearest", "bilinear", "bicubic", "lanczos"):
            flag = {"nearest": cv2.INTER_NEAREST, "bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC,
                    "lanczos": cv2.INTER_LANCZOS4}[method]
            cv = f"{median_time(lambda f=flag: cv2.resize(image, out_size, interpolation=f), repeats=2):.2f}"
        print(f"| {method} | {ours:.2f} | {ref or '-'} | {ratio or '-'} | {cv or '-'} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
