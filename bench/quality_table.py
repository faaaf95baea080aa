"""Y-PSNR / SSIM / detail ratio / NIQE on Set5, Set14, BSD68 for every method, as a Markdown table.

    python bench/quality_table.py [--models a,b,...] [--degradation clean|real] [--data DIR] [--json out.json]

Runs the protocol of `srdesk-cli eval` (clean: MATLAB bicubic reduction; real: blur, reduction,
noise, JPEG with fixed seeds; Y channel, `scale` pixels shaved). Learned models are included when installed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from srdesk.engine.evaluation import DATASETS, measure
from srdesk.models import registry


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="")
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/benchmarks")
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--degradation", choices=("clean", "real"), default="clean")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    names = [n for n in args.models.split(",") if n] or [e.name for e in registry.entries() if e.installed()]
    results: dict[str, dict[str, dict[str, float]]] = {}
    for name in names:
        results[name] = measure(name, args.data, args.scale, args.degradation)  # as the model cards record
        print(name, results[name], file=sys.stderr, flush=True)
    print(f"| method (x{args.scale}, {args.degradation} inputs) | "
          + " | ".join(f"{d} PSNR / SSIM / detail / NIQE" for d in DATASETS) + " |")
    print("|---|" + "---|" * len(DATASETS))
    for name, rows in results.items():
        cells = [f"{rows[d]['psnr']:.2f} / {rows[d]['ssim']:.4f} / {rows[d]['detail']:.2f} / {rows[d]['niqe']:.1f}"
                 if d in rows else "-" for d in DATASETS]
        print(f"| {name} | " + " | ".join(cells) + " |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
