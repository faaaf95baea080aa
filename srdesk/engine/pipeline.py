"""One Enhance: request + image -> (tiles -> model or classical method -> merged) -> images.

The GUI worker, the CLI and batch all call :func:`run`; nothing else enlarges
images. The upscaler decides how it enlarges (see :mod:`srdesk.models.base`);
this module adds what every method shares: the output size, threads, alpha
enlarged on its own, metadata carried over, cancellation.
"""

from __future__ import annotations

import copy

import numpy as np

from srdesk.core import analysis, resample
from srdesk.core.devices import apply_threads, free_ram
from srdesk.core.errors import ImageTooLarge
from srdesk.core.imageio import LoadedImage, PictureResult, from_array
from srdesk.core.request import CancelToken, EnhanceRequest, ProgressFn, check_cancel
from srdesk.engine.cache import MODELS
from srdesk.models import registry
from srdesk.models.base import ClassicalUpscaler, SamplingUpscaler, TorchUpscaler, Upscaler
from srdesk.models.sampling import estimate_seconds as estimate_sampling_seconds
from srdesk.models.tiled import CPU_TILE_BUDGET_BYTES, MAX_TILE, MIN_TILE, auto_tile_size, model_passes

__all__ = [
    "CPU_TILE_BUDGET_BYTES", "MAX_TILE", "MIN_TILE", "CancelToken", "ClassicalUpscaler", "EnhanceRequest",
    "ProgressFn", "SamplingUpscaler", "TorchUpscaler", "Upscaler", "auto_tile_size", "clear_model_cache",
    "enhance", "enhance_samples", "estimate_sampling_seconds", "get_upscaler", "model_passes", "resolve", "run",
]


def get_upscaler(name: str, device: str = "auto", precision: str = "auto", strength: float | None = None
                 ) -> Upscaler:
    """Registry load, cached: the GUI and batch reuse a model across photos."""
    return MODELS.get(name, device, precision, strength)


AUTOMATIC_NOTE = "automatic: "  # how a result's note about an automatic choice begins (the GUI shows it)


def assessment_of(source: LoadedImage) -> analysis.Assessment:
    """What the photo has been through (JPEG quality, noise), measured once and kept with its metadata."""
    if source.meta.assessment is None:
        source.meta.assessment = analysis.assess(source.pixels, source.meta.jpeg_quality)
    return source.meta.assessment


def resolve(request: EnhanceRequest, source: LoadedImage) -> tuple[EnhanceRequest, str]:
    """``request`` with an automatic method replaced by the model it chooses for ``source`` (the whole photo),
    and a note saying which and why; any other request as it is, with no note."""
    entry = registry.get(request.model)
    if entry.choices is None:
        return request, ""
    pair = entry.choices_for(request.scale)
    assessment = assessment_of(source)
    if pair == entry.choices_x2:
        assessment = assessment.judged(analysis.CLEAN_NOISE_X2, analysis.ALIASED_X2)
    chosen = pair[0 if assessment.clean else 1]
    return request.with_(model=chosen), f"{AUTOMATIC_NOTE}{chosen} \u2013 {assessment.reason}"


def clear_model_cache() -> None:
    MODELS.clear()


def _enlarge_alpha(alpha: np.ndarray | None, size: tuple[int, int], method: str, bits: int) -> np.ndarray | None:
    """The alpha channel, enlarged on its own and kept within [0, 1] (or as ``bits`` integers)."""
    if alpha is None:
        return None
    enlarged = resample.resize_levels(alpha[:, :, None], size, method, bits)[:, :, 0]
    return enlarged if bits else np.clip(enlarged, 0.0, 1.0)


def check_memory(size: tuple[int, int], channels: int, bits: int, results: int = 1) -> None:
    """Refuse, before any work, a result that cannot fit: twice its bytes (the result and what saving or
    showing it copies) against the memory the system has free. Tiles bound everything else."""
    free = free_ram()
    needed = size[0] * size[1] * channels * {0: 4, 8: 1, 16: 2}[bits] * results
    if free is not None and 2 * needed > free:
        raise ImageTooLarge(
            f"the result, {size[1]}\u00d7{size[0]} ({size[0] * size[1] / 1e6:,.0f} MP), needs about "
            f"{2 * needed / 2**30:.1f} GB of memory and {free / 2**30:.1f} GB is free: enlarge less, or close "
            "other programs")


def run(
    request: EnhanceRequest,
    image: LoadedImage | np.ndarray,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    upscaler: Upscaler | None = None,
) -> list[LoadedImage]:
    """Enlarge ``image`` as ``request`` says: one result, or ``request.samples`` for a sampling model.

    ``upscaler`` overrides the registry lookup of ``request.model`` (tests,
    evaluation of a ready model). Raises :class:`~srdesk.core.errors.Cancelled`
    when ``cancel`` is set between tiles. Results carry the original's metadata.
    """
    source = image if isinstance(image, LoadedImage) else from_array(image)
    chose = ""
    if upscaler is None:
        request, chose = resolve(request, source)
        upscaler = get_upscaler(request.model, request.device, request.precision, request.strength)
    if upscaler.kind != "classical":
        apply_threads(request.threads or upscaler.default_threads)
    height, width = source.pixels.shape[:2]
    size = resample.output_size((height, width), request.scale)
    check_cancel(cancel)
    bits = (16 if source.meta.bit_depth >= 16 else 8) if request.integer_output else 0
    check_memory(size, 3 + (source.alpha is not None), bits, request.samples if upscaler.kind == "sampler" else 1)
    notes: list[str] = [chose] if chose else []
    # classical methods take the source's own levels (Pillow resizes 8-bit pixels as they are)
    as_is = upscaler.kind == "classical"
    if (isinstance(upscaler, ClassicalUpscaler) and upscaler.method in resample.PILLOW_FILTERS and bits == 8
            and source.pixels.dtype == np.uint8 and source.alpha is None and not source.meta.grayscale):
        # Pillow's own 8-bit resize, kept as its image: saving encodes it without converting it twice
        picture = resample.resize_picture(source.pixels, size, upscaler.method)
        if progress:
            progress(1, 1)
        return [PictureResult(picture, copy.deepcopy(source.meta))]
    pixels = source.pixels if as_is else source.float_pixels()
    results = upscaler.enlarge(pixels, size, request, progress, cancel, notes, bits=bits)
    del pixels
    check_cancel(cancel)
    alpha = _enlarge_alpha(source.alpha if as_is else source.float_alpha(), size, upscaler.alpha_method, bits)
    out = []
    for index, result in enumerate(results):
        meta = copy.deepcopy(source.meta)
        meta.notes.extend(notes)
        if not bits:
            np.clip(result, 0.0, 1.0, out=result)
        out.append(LoadedImage(pixels=result, meta=meta,
                               alpha=None if alpha is None else alpha.copy() if index else alpha))
    return out


def _request_for(method: str | Upscaler, scale: float, options: dict[str, object]
                 ) -> tuple[EnhanceRequest, Upscaler | None]:
    name = method if isinstance(method, str) else method.name
    request = EnhanceRequest(model=name, scale=scale, **options)  # type: ignore[arg-type]
    return request, None if isinstance(method, str) else method


def enhance(image: LoadedImage | np.ndarray, method: str | Upscaler, scale: float = 4, *,
            progress: ProgressFn | None = None, cancel: CancelToken | None = None, **options: object) -> LoadedImage:
    """The first result of :func:`run` for ``method`` (a registry name or a ready upscaler) at ``scale``;
    ``options`` are further :class:`EnhanceRequest` fields (tile, overlap, device, precision...)."""
    request, upscaler = _request_for(method, scale, options)
    return run(request, image, progress, cancel, upscaler=upscaler)[0]


def enhance_samples(image: LoadedImage | np.ndarray, method: str | Upscaler, scale: float = 4, *,
                    progress: ProgressFn | None = None, cancel: CancelToken | None = None,
                    **options: object) -> list[LoadedImage]:
    """All results of :func:`run` (``samples`` of them for a sampling model)."""
    request, upscaler = _request_for(method, scale, options)
    return run(request, image, progress, cancel, upscaler=upscaler)
