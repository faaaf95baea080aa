"""A small face in a real photo, enlarged by a sampling model and put back into the enlarged photo.

Pixel Recursive SR was trained on whole, aligned faces of 8x8 pixels; run
over a whole photo it paints face-shaped noise everywhere. So the user marks
the face (a box in the photo's pixels); the box is squared around its centre
(the training crops are square, the face filling most of them), reduced to
the model's input size, sampled, and each sample is enlarged to the box's
size in the result and blended into the photo enlarged with ``base_model``
(a classical or photo method) through a feathered edge, so no seam shows.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from srdesk.core import resample
from srdesk.core.errors import InvalidParameter
from srdesk.core.imageio import LoadedImage, from_array, quantize_into, to_float
from srdesk.core.request import CancelToken, EnhanceRequest, ProgressFn
from srdesk.engine import pipeline
from srdesk.models.base import SamplingUpscaler

SMALL_FACE_PX = 24  # larger inputs are not what the faces model was made for
FEATHER = 0.15  # share of the box's side over which a sample fades into the photo


@dataclass(frozen=True)
class Box:
    """A rectangle in image pixels: left, top inclusive; right, bottom exclusive."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def squared(self, height: int, width: int) -> Box:
        """The square of the longer side around the same centre, kept inside an image of this size."""
        side = max(self.width, self.height, 1)
        side = min(side, height, width)
        cy, cx = (self.top + self.bottom) / 2, (self.left + self.right) / 2
        top = round(min(max(cy - side / 2, 0), height - side))
        left = round(min(max(cx - side / 2, 0), width - side))
        return Box(left, top, left + side, top + side)


def needs_a_box(upscaler_kind: str, height: int, width: int) -> bool:
    """A sampling model on anything bigger than a small face must be given a box."""
    return upscaler_kind == "sampler" and max(height, width) > SMALL_FACE_PX


def feather_mask(size: int, feather: float = FEATHER) -> np.ndarray:
    """(size, size) weights: 1 inside, falling linearly to 0 at the border over ``feather`` of the side."""
    ramp_px = max(1.0, size * feather)
    distance = np.minimum(np.arange(size), np.arange(size)[::-1]) + 0.5
    ramp = np.clip(distance / ramp_px, 0.0, 1.0)
    return np.minimum.outer(ramp, ramp).astype(np.float32)


def enhance_box(
    request: EnhanceRequest,
    image: LoadedImage | np.ndarray,
    box: Box,
    base_model: str = "lanczos",
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> list[LoadedImage]:
    """One enlarged photo per sample of ``request.model``, the box's content replaced by the sample."""
    source = image if isinstance(image, LoadedImage) else from_array(image)
    upscaler = pipeline.get_upscaler(request.model, request.device, request.precision)
    if not isinstance(upscaler, SamplingUpscaler):
        raise InvalidParameter(f"{request.model} is not a sampling model; a face box needs one")
    height, width = source.pixels.shape[:2]
    square = box.squared(height, width)
    if square.width < 2:
        raise InvalidParameter("the face box is too small: draw it around the whole face")
    face = to_float(source.pixels[square.top : square.bottom, square.left : square.right])
    tile = upscaler.tile
    face_in = resample.resize(face, (tile, tile), "matlab-bicubic") if square.width != tile else face
    samples = pipeline.run(request.with_(scale=float(upscaler.scale)), np.ascontiguousarray(face_in, np.float32),
                           progress, cancel, upscaler=upscaler)
    base = pipeline.run(request.with_(model=base_model, samples=1), source, cancel=cancel)[0]
    out_h, out_w = base.pixels.shape[:2]
    sy, sx = out_h / height, out_w / width
    top, left = round(square.top * sy), round(square.left * sx)
    bottom, right = round(square.bottom * sy), round(square.right * sx)
    size = (bottom - top, right - left)
    mask = feather_mask(max(size))[: size[0], : size[1], None]
    results = []
    for sample in samples:
        patch = resample.resize(sample.float_pixels(), size, "lanczos" if size[0] > sample.pixels.shape[0] else
                                "matlab-bicubic")
        pixels = base.pixels.copy()  # float, or the integer levels of an integer_output request
        region = pixels[top:bottom, left:right]
        blended = mask * np.clip(patch, 0, 1) + (1 - mask) * to_float(region)
        if region.dtype.kind == "f":
            region[...] = blended
        else:
            quantize_into(region, blended)
        meta = copy.deepcopy(base.meta)
        meta.notes.append(f"face box {square.width}x{square.height} px at ({square.left}, {square.top}) "
                          f"enlarged by {request.model}")
        results.append(LoadedImage(pixels=pixels, alpha=None if base.alpha is None else base.alpha.copy(),
                                   meta=meta))
    return results
