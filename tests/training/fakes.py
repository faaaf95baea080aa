"""Stand-in training data that tests can make in a temporary folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image


def smooth_faces(folder: Path, count: int, seed: int = 0) -> Path:
    """A faces folder like ../shared/data/faces: 64/NNNNNN.png + splits.json, smooth colour blobs."""
    rng = np.random.default_rng(seed)
    (folder / "64").mkdir(parents=True)
    yy, xx = np.mgrid[0:64, 0:64] / 63.0
    names = []
    for k in range(count):
        centre = rng.uniform(0.3, 0.7, size=2)
        blob = np.exp(-((yy - centre[0]) ** 2 + (xx - centre[1]) ** 2) / 0.08)
        colour = rng.uniform(0.2, 0.9, size=3)
        image = np.clip(blob[..., None] * colour + 0.1 * xx[..., None], 0, 1)
        name = f"{k:06d}.png"
        Image.fromarray((image * 255).round().astype(np.uint8)).save(folder / "64" / name)
        names.append(name)
    (folder / "splits.json").write_text(json.dumps({"train": names[: count // 2], "test": names[count // 2 :]}))
    return folder
