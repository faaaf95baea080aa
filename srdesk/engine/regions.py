"""Parts of a photo: a small face enlarged by a sampling model, and a preview of one region.

**Faces.** Pixel Recursive SR was trained on whole, aligned faces of 8x8 pixels; run
over a whole photo it paints face-shaped noise everywhere. So the user marks
the face (a box in the photo's pixels); the box is squared around its centre
(the training crops are square, the face filling most of them), reduced to
the model's input size, sampled, and each sample is enlarged to the box's
size in the result and blended into the photo enlarged with ``base_model``
(a classical or photo method) through a feathered edge, so no seam shows.

**Previews.** :func:`enhance_region` enlarges one box of the photo (what the
view shows) as the whole photo's Enhance would make that part: the box is
run with the model's context around it (the same context the tiles carry),
which is then cut away, so a preview shows the pixels the full result will
have, in a few seconds where the whole photo takes minutes.
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
PREVIEW_MAX_PIXELS = 640 * 480  # input pixels a preview enlarges at most: seconds on a CPU, not minutes
CLASSICAL_CONTEXT = 8  # input pixels a classical kernel reaches (Lanczos-3 at x1 reaches 3)
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


def preview_box(visible: Box, height: int, width: int, max_pixels: int = PREVIEW_MAX_PIXELS) -> Box:
    """What a preview enlarges of the ``visible`` part of a ``height`` x ``width`` photo: all of it (inside the
    photo), or the largest box of its shape around its centre with at most ``max_pixels`` pixels."""
    left, top = max(0, min(visible.left, width - 1)), max(0, min(visible.top, height - 1))
    right, bottom = max(left + 1, min(visible.right, width)), max(top + 1, min(visible.bottom, height))
    box_w, box_h = right - left, bottom - top
    if box_w * box_h <= max_pixels:
        return Box(left, top, right, bottom)
    shrink = (max_pixels / (box_w * box_h)) ** 0.5
    new_w, new_h = max(1, int(box_w * shrink)), max(1, int(box_h * shrink))
    new_left = (left + right - new_w) // 2
    new_top = (top + bottom - new_h) // 2
    return Box(new_left, new_top, new_left + new_w, new_top + new_h)


def _enlarged_span(start: int, stop: int, origin: int, ratio: float) -> slice:
    """Input pixels [start, stop) in an output enlarged by ``ratio`` from a crop that starts at ``origin``."""
    return slice(round(start * ratio) - round(origin * ratio), round(stop * ratio) - round(origin * ratio))


def enhance_region(
    request: EnhanceRequest,
    image: LoadedImage | np.ndarray,
    box: Box,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> LoadedImage:
    """``request`` applied to ``box`` of the photo alone: that part of what the whole photo's Enhance makes.

    The box is enlarged with the model's context around it (its receptive radius, as each tile carries it),
    and the context is cut away: for convolutional models at whole scales the pixels equal the full result's
    (tested); methods that see the whole image at once (frequency-domain zero padding) differ near the box's
    edges. Sampling models draw a new guess each time and have their own box (:func:`enhance_box`).
    """
    source = image if isinstance(image, LoadedImage) else from_array(image)
    request, chose = pipeline.resolve(request, source)  # an automatic method: what the whole photo's choice is
    upscaler = pipeline.get_upscaler(request.model, request.device, request.precision, request.strength)
    if isinstance(upscaler, SamplingUpscaler):
        raise InvalidParameter(f"{request.model} makes a new guess each time: mark a face and Enhance instead")
    height, width = source.pixels.shape[:2]
    if not (0 <= box.left < box.right <= width and 0 <= box.top < box.bottom <= height):
        raise InvalidParameter(f"the box {box} is not inside the {width}x{height} photo")
    if request.overlap is not None:
        context = request.overlap
    else:
        context = getattr(upscaler, "receptive_radius", CLASSICAL_CONTEXT)
    outer = Box(max(0, box.left - context), max(0, box.top - context),
                min(width, box.right + context), min(height, box.bottom + context))
    rows, cols = slice(outer.top, outer.bottom), slice(outer.left, outer.right)
    crop = LoadedImage(pixels=np.ascontiguousarray(source.pixels[rows, cols]),
                       alpha=None if source.alpha is None else np.ascontiguousarray(source.alpha[rows, cols]),
                       meta=copy.deepcopy(source.meta))
    result = pipeline.run(request.with_(samples=1, origin=(outer.top, outer.left)), crop, progress, cancel,
                          upscaler=upscaler)[0]
    if chose:
        result.meta.notes.insert(0, chose)
    # where the box lies in the enlarged crop, at the whole photo's output size as the full run computes it
    out_h, out_w = resample.output_size((height, width), request.scale)
    rows = _enlarged_span(box.top, box.bottom, outer.top, out_h / height)
    cols = _enlarged_span(box.left, box.right, outer.left, out_w / width)
    pixels = np.ascontiguousarray(result.pixels[rows, cols])
    alpha = None if result.alpha is None else np.ascontiguousarray(result.alpha[rows, cols])
    return LoadedImage(pixels=pixels, alpha=alpha, meta=result.meta)
