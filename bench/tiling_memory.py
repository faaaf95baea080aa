"""Peak memory and time of a large enhance: automatic tiles vs one fixed large tile.

    python bench/tiling_memory.py [--model srresnet-x4] [--size 1000x750] [--tile 512]

Each configuration runs in a fresh process so its peak RSS (resident memory) is its own.
Goal: peak RSS <= 2 GB for any input; tiling overhead <= 10 % where an untiled run fits.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = """
import json, sys, time, numpy as np
from bench.common import peak_rss_mb
from srdesk.engine import pipeline
model, width, height, tile = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]) or None
image = np.random.default_rng(0).random((height, width, 3)).astype(np.float32)
up = pipeline.get_upscaler(model, "cpu")
start = time.perf_counter()
out = pipeline.enhance(image, up, 4, tile=tile)
print(json.dumps({"seconds": time.perf_counter() - start, "peak_rss_mb": peak_rss_mb(),
                  "output": list(out.pixels.shape), "tile": tile or pipeline.auto_tile_size(up)}))
"""


def run(model: str, width: int, height: int, tile: int) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, model, str(width), str(height), str(tile)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="srresnet-x4")
    parser.add_argument("--size", default="1000x750")
    parser.add_argument("--tile", type=int, default=1024, help="the fixed 'large tile' reference")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    auto = run(args.model, width, height, 0)
    fixed = run(args.model, width, height, args.tile)
    print(f"| {args.size} x4 | tile | time (s) | peak RSS (MB) |")
    print("|---|---|---|---|")
    print(f"| auto | {auto['tile']} | {auto['seconds']:.1f} | {auto['peak_rss_mb']:.0f} |")
    print(f"| fixed | {fixed['tile']} | {fixed['seconds']:.1f} | {fixed['peak_rss_mb']:.0f} |")
    print(f"time ratio auto/fixed: {auto['seconds'] / fixed['seconds']:.2f}; "
          f"memory ratio: {auto['peak_rss_mb'] / fixed['peak_rss_mb']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
