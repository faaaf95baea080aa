"""Big photos from process start to file written: peak memory and time, srdesk's CLI against a bare Pillow process.

    python -m bench.big_photo [--photo ../shared/data/train/photos/gnome-backgrounds_Road.jpg] [--huge]

Each run is a fresh process; its peak RSS (resident memory, from wait4) and wall time are its own.

1. ``srdesk-cli enhance PHOTO --model bicubic -f jpg`` (x4) against a Python process that only does
   Pillow load + bicubic resize + JPEG save of the same file with srdesk's encoder settings
   (quality 95, 4:4:4, Huffman tables optimised up to 16 MP). Goal: <= 700 MB and <= 1.3x Pillow's time.
2. the default learned model, x4, on a 2000x1500 crop of the photo (48 MP out). Goal: <= 1.5 GB.
3. ``--huge``: the default model on 3000x4000 (192 MP out, the photo enlarged to that size first).
   Goal: <= 3 GB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

PILLOW_CHILD = """
import sys
from PIL import Image
with Image.open(sys.argv[1]) as im:
    im = im.convert("RGB")
    out = im.resize((im.width * 4, im.height * 4), Image.Resampling.BICUBIC)
out.save(sys.argv[2], quality=95, subsampling=0, optimize=out.width * out.height <= 16_000_000)
"""


def measure(command: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one child process, from its start to its exit."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {child.stderr.read().decode() if child.stderr else ''}")
    return seconds, usage.ru_maxrss / 1024  # Linux: kilobytes


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "srdesk.cli", *args]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photo", default="../shared/data/train/photos/gnome-backgrounds_Road.jpg")
    parser.add_argument("--model", default="", help="learned model (default: srdesk's default)")
    parser.add_argument("--huge", action="store_true", help="also the 192 MP output (minutes)")
    parser.add_argument("--skip-learned", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="Pillow/srdesk pairs for the bicubic ratio")
    args = parser.parse_args()
    photo = Path(args.photo)
    model = ["--model", args.model] if args.model else []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        with Image.open(photo) as im:
            width, height = im.size
            crop = out / "crop-2000x1500.jpg"
            im.convert("RGB").crop((0, 0, 2000, 1500)).save(crop, quality=95)
            huge = out / "photo-3000x4000.jpg"
            if args.huge:
                im.convert("RGB").resize((3000, 4000), Image.Resampling.LANCZOS).save(huge, quality=95)
        print(f"{photo.name} {width}x{height}; each row a fresh process, start to exit")
        print("| run | output | time (s) | peak RSS (MB) |")
        print("|---|---|---|---|")
        ratios, mbs = [], []
        for _ in range(args.repeat):  # alternating, so that a busy moment falls on both
            pil_s, pil_mb = measure([sys.executable, "-c", PILLOW_CHILD, str(photo), str(out / "pillow.jpg")])
            print(f"| Pillow load + bicubic x4 + JPEG save | {width * 4}x{height * 4} | {pil_s:.2f} | {pil_mb:.0f} |")
            ours_s, ours_mb = measure(cli("enhance", str(photo), "-o", str(out / "bicubic"), "--model", "bicubic",
                                          "--scale", "4", "-f", "jpg", "--existing", "overwrite"))
            print(f"| srdesk-cli --model bicubic | {width * 4}x{height * 4} | {ours_s:.2f} | {ours_mb:.0f} |")
            ratios.append(ours_s / pil_s)
            mbs.append(ours_mb)
        print(f"bicubic: srdesk / Pillow time {', '.join(f'{r:.2f}' for r in ratios)}x, median "
              f"{float(np.median(ratios)):.2f}x (goal <= 1.3x); peak {max(mbs):.0f} MB (goal <= 700 MB)", flush=True)
        if args.skip_learned:
            return 0
        runs = [(crop, "8000x6000 (48 MP)", 1500)] + ([(huge, "12000x16000 (192 MP)", 3000)] if args.huge else [])
        for source, size, goal in runs:
            seconds, mb = measure(cli("enhance", str(source), "-o", str(out / "learned"), *model, "--scale", "4",
                                      "-f", "jpg"))
            print(f"| srdesk-cli {args.model or 'default model'} | {size} | {seconds:.1f} | {mb:.0f} "
                  f"(goal <= {goal}) |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
