"""The explicit table of every way srdesk can enlarge a photo.

Classical methods and learned models are listed side by side so that the
CLI, the GUI and batch pick them the same way. Learned entries name an
architecture and a weights file; the architecture's parameters come from the
weights' model card, so retraining with another width needs no code change.
Nothing is discovered at import time: what is here is all there is (tests
and plugins may :func:`register` more).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srdesk.core import resample
from srdesk.core.errors import InvalidParameter, UnknownModel
from srdesk.core.request import PRECISIONS
from srdesk.models.base import ClassicalUpscaler, SamplingUpscaler, TorchUpscaler, Upscaler
from srdesk.models.community import PYTORCH_SUFFIXES
from srdesk.models.ncnn_model import NcnnUpscaler
from srdesk.models.weights import ModelCard, load_verified, read_card, weights_dir

if TYPE_CHECKING:
    from torch import nn


def _build_srresnet(params: dict[str, Any]) -> nn.Module:
    from srdesk.models.srresnet import SRResNet

    return SRResNet(
        scale=int(params["scale"]),
        num_blocks=int(params["num_blocks"]),
        channels=int(params["channels"]),
        batch_norm=bool(params.get("batch_norm", True)),
        image_skip=bool(params.get("image_skip", False)),
    )


def _srresnet_radius(params: dict[str, Any]) -> int:
    """Context a tile needs so tiling stays invisible.

    The exact receptive field is 9x9 head + 2 convs per block + body tail +
    upsampling + 9x9 tail, about 2 * blocks + 7 input pixels, but the trained
    network's influence decays fast: measured on Set14 "comic" with the shipped
    16-block model, 12 px of context changes no output pixel by more than
    0.02/255 and 16 px by less than 0.001/255 against an untiled run. So 16 px
    (or the exact field when smaller) is used: far cheaper tiles, same 8-bit result.
    """
    exact = 4 + 2 * int(params["num_blocks"]) + 1 + 2
    return min(exact, 16)


def _build_span(params: dict[str, Any]) -> nn.Module:
    from srdesk.models.span import SPAN

    return SPAN(scale=int(params["scale"]), num_blocks=int(params["num_blocks"]), channels=int(params["channels"]),
                image_skip=bool(params.get("image_skip", True)), out_refine=int(params.get("out_refine", 0)),
                texture=int(params.get("texture", 0)), texture_hidden=int(params.get("texture_hidden", 16)),
                second_pass=bool(params.get("second_pass", False)))


def _span_radius(params: dict[str, Any]) -> int:
    from srdesk.models.span import receptive_radius

    return receptive_radius(int(params["num_blocks"]), int(params.get("out_refine", 0)),
                            bool(params.get("texture", 0)), bool(params.get("second_pass", False)))


def _build_pixel_recursive(params: dict[str, Any]) -> nn.Module:
    from srdesk.models.pixel_recursive import PixelRecursiveSR

    return PixelRecursiveSR(int(params["scale"]), int(params["cond_channels"]), int(params["cond_blocks"]),
                            int(params["prior_channels"]), int(params["prior_layers"]), int(params["prior_kernel"]))


@dataclass(frozen=True)
class Architecture:
    """Everything srdesk knows about one network design (spandrel's descriptor idea).

    ``build`` makes the module from the parameters a model card records (the
    same dict the trainers write), ``receptive_radius`` is the tile context it
    needs, ``precisions`` what it may compute in besides float32, and ``kind``
    which upscaler runs it.
    """

    name: str
    kind: str  # "learned" (convolutional, tiled) | "sampler" (draws several results)
    build: Callable[[dict[str, Any]], nn.Module]
    receptive_radius: Callable[[dict[str, Any]], int]
    precisions: tuple[str, ...] = ("fp32",)
    works_at_input_resolution: bool = False  # all features at the input's size, a pixel shuffle at the end

    def bytes_per_input_pixel(self, params: dict[str, Any]) -> int:
        """float32 activations alive at once per input pixel: ~4 maps of the model's width at the resolution
        where it works, plus the output (and SPAN's output-resolution refinement, ``out_refine`` wide)."""
        scale = int(params["scale"])
        channels = int(params.get("channels", 64))
        if self.works_at_input_resolution:
            refine = int(params.get("out_refine", 0))
            refine_maps = (refine + 3) * scale * scale if refine else 0
            return 4 * (8 * channels + 2 * 3 * scale * scale + refine_maps)
        return 16 * scale * scale * channels


ARCHITECTURES: dict[str, Architecture] = {
    a.name: a
    for a in (
        Architecture("srresnet", "learned", _build_srresnet, _srresnet_radius, ("fp32", "bf16", "fp16")),
        Architecture("span", "learned", _build_span, _span_radius, ("fp32", "bf16", "fp16"),
                     works_at_input_resolution=True),
        Architecture("pixel-recursive", "sampler", _build_pixel_recursive, lambda params: 0),
    )
}


def architecture(name: str) -> Architecture:
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise InvalidParameter(f"unknown architecture {name!r}; srdesk knows {', '.join(ARCHITECTURES)}") from None


@dataclass(frozen=True)
class ModelEntry:
    name: str
    kind: str  # "classical" | "learned" | "sampler" (draws several plausible results)
    description: str
    scale: int | None = None  # native scale of a learned model; None = any
    method: str | None = None  # classical: key of resample.METHODS
    weights: str | None = None  # learned: card/weights name in weights/
    build: Callable[[], nn.Module] | None = None  # learned without weights (tests only)
    receptive_radius: int = 16
    # detail strength: the faithful (PSNR-trained) weights of the same network; strength s runs
    # s x these weights + (1 - s) x the faithful ones (network interpolation, Wang et al. 2018)
    faithful: str | None = None
    # detail strength of a network with a texture head (models.span.TextureHead): strength s scales the drawn
    # texture (0: the network's result without it, exactly)
    drawn_texture: bool = False
    label: str = ""  # what the method list shows, in plain words ("Photo - sharp and natural")
    path: str | None = None  # a model the user added: its file (an ncnn .param beside its .bin)
    origin: str = "srdesk"  # "srdesk" (trained and shipped by us) | "added" (the user's models folder)
    # automatic: the models it chooses between per photo, (for clean photos, for damaged ones); see
    # srdesk.core.analysis (what decides) and srdesk.engine.pipeline.resolve (where); ``choices_x2``: the
    # native x2 pair it uses instead at x2 and below, where installed
    choices: tuple[str, str] | None = None
    choices_x2: tuple[str, str] | None = None

    @property
    def has_strength(self) -> bool:
        return self.faithful is not None or self.drawn_texture

    @property
    def group(self) -> str:
        """Where the method list puts it: "Photo", "Tiny faces", "Classical" (the label's first word(s))."""
        return (self.label or self.kind).split(" \u2013 ")[0]

    @property
    def display_name(self) -> str:
        return self.label or self.name

    @property
    def learned(self) -> bool:
        return self.kind in ("learned", "sampler")

    @property
    def sampler(self) -> bool:
        return self.kind == "sampler"

    def card(self) -> ModelCard | None:
        return read_card(self.weights) if self.weights else None

    @property
    def automatic(self) -> bool:
        return self.choices is not None

    def choices_for(self, scale: float) -> tuple[str, str]:
        """The (clean, damaged) pair an automatic method chooses from at ``scale``: the native x2 models at x2
        and below (as faithful as the x4 models enlarging x4 and reducing, for less time), else the x4 ones."""
        assert self.choices is not None
        if self.choices_x2 is not None and scale <= 2 and all(get(name).installed() for name in self.choices_x2):
            return self.choices_x2
        return self.choices

    def installed(self) -> bool:
        if self.choices is not None:
            return all(get(name).installed() for name in self.choices)
        if not self.learned or self.build is not None:
            return True
        if self.path is not None:
            path = Path(self.path)
            if path.suffix != ".param":
                from srdesk.models.community import spandrel_available

                return spandrel_available() and path.exists()
            from srdesk.models.ncnn_model import ncnn_available

            return ncnn_available() and path.exists() and path.with_suffix(".bin").exists()
        card = self.card()
        return card is not None and (weights_dir() / card.weights_file).exists()

    def quality(self) -> str:
        """One line: :meth:`quality_lines` joined by "; "."""
        return "; ".join(self.quality_lines())

    def quality_lines(self) -> list[str]:
        """The card's measured Y-PSNR on Set5/Set14/BSD68, on realistic inputs first where it has them ("real
        photos", the inputs people have), then clean, each with its gain over bicubic where measured; for
        sampling models the likelihood on held-out faces. Empty without measurements."""
        if self.choices is not None:  # what each chosen model measured on the inputs it is chosen for
            lines = []
            x2 = self.choices_for(2)
            for pair, at in [(self.choices, "")] + ([(x2, " at x2")] if x2 != self.choices else []):
                clean, damaged = pair
                real, sharp = get(damaged).psnr_summaries()[0], get(clean).psnr_summaries()[1]
                damaged_ones = "compressed, noisy or aliased photos"
                lines += [f"real photos{at}: {real} (by {damaged}, its choice for {damaged_ones})"] if real else []
                lines += [f"clean{at}: {sharp} (by {clean}, its choice for clean ones)"] if sharp else []
            return lines
        card_data = self._card_data()
        real, clean = _psnr_summaries(card_data)
        lines = [f"real photos: {real}"] if real else []
        if clean:
            lines.append(f"clean: {clean}" if real else clean)
        nll = (card_data.get("metrics") or {}).get("nll_bits_per_subpixel", {})
        if "pixel_recursive" in nll and "bicubic" in nll:  # sampling models: likelihood on held-out faces
            lines.append(f"test faces {nll['pixel_recursive']:.2f} bits/sub-pixel (bicubic {nll['bicubic']:.2f})")
        return lines

    def psnr_summaries(self) -> tuple[str, str]:
        """(realistic, clean) Y-PSNR summaries of the card, each "" where it has none."""
        return _psnr_summaries(self._card_data())

    def _card_data(self) -> dict[str, Any]:
        """The measurements: the card's, or for an added model what `srdesk-cli eval` recorded beside it."""
        if self.path is not None:
            import json

            try:
                data: dict[str, Any] = json.loads(Path(self.path).with_suffix(".card.json").read_text())
                return data
            except (OSError, ValueError):
                return {}
        card = self.card()
        return {} if card is None else {key: getattr(card, key) for key in _METRIC_KEYS}


_METRIC_KEYS = ("metrics", "metrics_bicubic", "metrics_real", "metrics_real_bicubic")


def _psnr_summaries(card_data: dict[str, Any]) -> tuple[str, str]:
    real = _psnr_summary(card_data.get("metrics_real") or {}, card_data.get("metrics_real_bicubic") or {})
    return real, _psnr_summary(card_data.get("metrics") or {}, card_data.get("metrics_bicubic") or {})


def _psnr_summary(metrics: dict[str, Any], bicubic: dict[str, Any]) -> str:
    """``Set5 29.28, Set14 26.62 dB (+0.85, +0.53 over bicubic)``; the gains only when bicubic was measured on
    every set shown."""
    sets = [name for name in ("Set5", "Set14", "BSD68") if "psnr" in metrics.get(name, {})]
    if not sets:
        return ""
    text = ", ".join(f"{name} {metrics[name]['psnr']:.2f}" for name in sets) + " dB"
    if all("psnr" in bicubic.get(name, {}) for name in sets):
        gains = ", ".join(f"{metrics[name]['psnr'] - bicubic[name]['psnr']:+.2f}" for name in sets)
        text += f" ({gains} over bicubic)"
    return text


_CLASSICAL_LABELS = {"nearest": "nearest neighbour (pixels)", "bilinear": "bilinear", "bicubic": "bicubic",
                     "lanczos": "Lanczos", "hermite": "Hermite", "bspline": "B-spline", "fft": "frequency domain"}
_CLASSICAL = [
    ModelEntry(name, "classical", resample.DESCRIPTIONS[name], method=name,
               label=f"Classical \u2013 {_CLASSICAL_LABELS[name]}")
    for name in ("nearest", "bilinear", "bicubic", "lanczos", "hermite", "bspline", "fft")
]

_LEARNED = [
    ModelEntry("auto", "learned", "Photos, chosen per photo and scale: measures the photo first (the JPEG quality "
               "it was saved at, from the file's tables or the pixels' 8x8 blocks, its noise, and whether it was "
               "reduced without smoothing) and enlarges a compressed, noisy or aliased one with photo-x4, a clean "
               "one (lossless, or JPEG quality 88 and above, little noise, no aliasing) with clean-x4, which keeps "
               "0.3-1.1 dB more of its detail there; at x2 and below with their native x2 counterparts, photo-x2 "
               "and clean-x2",
               label="Photo \u2013 automatic", choices=("clean-x4", "photo-x4"), choices_x2=("clean-x2", "photo-x2")),
    ModelEntry("photo-x4", "learned", "Photos x4, for real pictures (web JPEGs, phone shots, scans): trained on "
               "realistically degraded photos, it removes noise and JPEG blocks while it enlarges instead of "
               "sharpening them; an efficient network (seconds for a phone photo on a CPU); soft, and below the "
               "clean-image models on clean, noise-free inputs",
               scale=4, weights="photo-x4", label="Photo \u2013 natural \u00d74"),
    ModelEntry("photo-crisp-x4", "learned", "Photos x4, crisper: firmer edges and more visible detail with clean "
               "skin and skies, a little less faithful; photo-x4 taught to give in one pass what two x2 steps give "
               "(photo-x2, then photo-crisp-x2, which was trained towards sharpened photos as Real-ESRGAN sharpens "
               "its ground truth); detail strength blends it back towards photo-x4",
               scale=4, weights="photo-crisp-x4", faithful="photo-x4", label="Photo \u2013 crisp \u00d74"),
    ModelEntry("photo-texture-x4", "learned", "Photos x4 with texture: photo-crisp-x4 plus a texture layer that "
               "draws a fine grain and texture (skin, foliage, fabric) in place of what JPEG and noise took from the "
               "photo, so results look like photographs rather than smooth paintings; a plausible texture, not the "
               "lost original (faintly also on smooth areas), so a little less faithful than photo-x4; detail "
               "strength sets how much is drawn (0 gives photo-crisp-x4's result)",
               scale=4, weights="photo-texture-x4", drawn_texture=True, label="Photo \u2013 with texture \u00d74"),
    ModelEntry("photo-x2", "learned", "Photos x2, for real pictures: the native x2 counterpart of photo-x4 (its "
               "network, trained on for x2); mostly removes noise and blocks; as faithful on real photos as "
               "photo-x4 set to x2 (which enlarges x4 and reduces) in about 12 % less time",
               scale=2, weights="photo-x2", label="Photo \u2013 natural \u00d72"),
    ModelEntry("photo-crisp-x2", "learned", "Photos x2, crisper: photo-x2 fine-tuned towards sharpened photos with a "
               "pixel loss; firmer edges and more visible detail while still cleaning noise and JPEG blocks; detail "
               "strength blends it back towards photo-x2",
               scale=2, weights="photo-crisp-x2", faithful="photo-x2", label="Photo \u2013 crisp \u00d72"),
    ModelEntry("photo-texture-x2", "learned", "Photos x2 with texture: photo-x2 plus a texture layer like "
               "photo-texture-x4's, trained for x2: fine grain and texture in place of what JPEG and noise took, so "
               "results look like photographs; a plausible texture, not the lost original; detail strength sets "
               "how much is drawn (0 gives photo-x2's result)",
               scale=2, weights="photo-texture-x2", drawn_texture=True, label="Photo \u2013 with texture \u00d72"),
    ModelEntry("clean-x4", "learned", "Clean images x4 (renders, screenshots, high-quality scans): the efficient "
               "network of the photo models PSNR-trained on clean bicubic reductions; SRResNet's quality at a "
               "seventh of its time; amplifies noise and JPEG blocks in real photos",
               scale=4, weights="clean-x4", label="Clean images \u2013 faithful \u00d74"),
    ModelEntry("clean-x2", "learned", "Clean images x2 (renders, screenshots, high-quality scans and camera "
               "originals): clean-x4's network trained for x2 on clean reductions; amplifies noise and JPEG blocks in "
               "real photos",
               scale=2, weights="clean-x2", label="Clean images \u2013 faithful \u00d72"),
    ModelEntry("srresnet-x4", "learned", "SRResNet x4 (Ledig et al. 2017): faithful detail on clean images "
               "(PSNR-trained on bicubic reductions; amplifies noise and JPEG blocks in real photos); the starting "
               "point of srgan-x4's detail strength",
               scale=4, weights="srresnet-x4", label="Clean images \u2013 SRResNet"),
    ModelEntry("srgan-x4", "learned", "SRGAN x4: crisper textures, less faithful (adversarial, clean images)",
               scale=4, weights="srgan-x4", faithful="srresnet-x4", label="Clean images \u2013 crisp textures"),
    ModelEntry("pixel-recursive-faces-x4", "sampler",
               "Pixel Recursive x4 for tiny faces (8x8 -> 32x32): several plausible results per input",
               scale=4, weights="pixel-recursive-faces-x4", label="Tiny faces \u2013 several guesses"),
]

_REGISTRY: dict[str, ModelEntry] = {e.name: e for e in _CLASSICAL + _LEARNED}

DEFAULT_MODEL = "auto"  # photo-x4 on realistic inputs, clean-x4 on clean ones (README: Choosing automatically)
ALIASES = {"auto-x4": "auto"}  # earlier names, still accepted (scripts, saved settings)
DEFAULT_CLASSICAL = "bicubic"


def register(entry: ModelEntry) -> None:
    _REGISTRY[entry.name] = entry


USER_MODEL_SUFFIXES = (".param", *PYTORCH_SUFFIXES)  # ncnn's .param (with its .bin) and PyTorch files


def add_user_models(folder: Path) -> list[ModelEntry]:
    """Register every model in the user's models folder: ncnn ``NAME.param`` + ``NAME.bin`` pairs and
    PyTorch community models (``NAME.safetensors`` / ``.pth``; spandrel recognises them when they run).

    Called explicitly by the CLI and the GUI at start (nothing is discovered at import time). A name
    that is already taken by one of srdesk's models is skipped rather than shadowing it.
    """
    added: list[ModelEntry] = []
    if not Path(folder).is_dir():
        return added
    for path in sorted(f for f in Path(folder).iterdir() if f.suffix in USER_MODEL_SUFFIXES):
        name = path.stem
        if name in _REGISTRY and (_REGISTRY[name].origin != "added" or _REGISTRY[name].path != str(path)):
            continue  # srdesk's own names win; of two added files with one name, the first stays
        kind = "ncnn" if path.suffix == ".param" else "PyTorch"
        entry = ModelEntry(name, "learned", f"{kind} model you added ({path.name})", path=str(path),
                           origin="added", label=f"Added \u2013 {name}")
        register(entry)
        added.append(entry)
    return added


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def entries() -> list[ModelEntry]:
    return list(_REGISTRY.values())


def canonical_name(name: str) -> str:
    """``name``, or the method it is an earlier name of."""
    return ALIASES.get(name, name)


def get(name: str) -> ModelEntry:
    try:
        return _REGISTRY[canonical_name(name)]
    except KeyError:
        raise UnknownModel(f"unknown model {name!r}; `srdesk-cli models` lists them: {', '.join(_REGISTRY)}") from None


def default_model() -> str:
    entry = _REGISTRY.get(DEFAULT_MODEL)
    return DEFAULT_MODEL if entry and entry.installed() else DEFAULT_CLASSICAL




@functools.cache
def cpu_has_native_bf16() -> bool:
    """Whether oneDNN has native bfloat16 kernels on this CPU (AVX512-BF16 or AMX); emulated bf16 is slower.
    Asked once (oneDNN's check takes ~1 ms; a training step asks at every autocast)."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def interpolate(detailed: dict[str, Any], faithful: dict[str, Any], strength: float) -> dict[str, Any]:
    """strength x detailed + (1 - strength) x faithful, tensor by tensor (same architecture required)."""
    if detailed.keys() != faithful.keys() or any(detailed[k].shape != faithful[k].shape for k in detailed):
        raise InvalidParameter("detail strength needs two versions of the same network")
    return {k: (strength * detailed[k].float() + (1 - strength) * faithful[k].float()) for k in detailed}


def _load_community(name: str, path: Path, device: Any, precision: str) -> TorchUpscaler:
    from srdesk.models.community import load_file

    found = load_file(path)
    reduced = precision == "auto"
    return TorchUpscaler(name, found.module, found.scale, device,
                         fp16=reduced and found.fp16 and device.type == "cuda",
                         cpu_bf16=reduced and found.bf16 and device.type == "cpu" and cpu_has_native_bf16(),
                         receptive_radius=found.receptive_radius, align=found.align)


def load(name: str, device: str = "auto", precision: str = "auto", strength: float | None = None) -> Upscaler:
    """Ready-to-run upscaler for a registry name (weights checked against their card).

    ``precision`` "auto" computes learned models in reduced precision where
    the hardware does it natively and the result is unchanged at 8 bits in
    practice: bfloat16 on CPUs with native bf16 (SRResNet x4: 2.1x faster,
    Set5 Y-PSNR 30.519 vs 30.518 dB in float32), float16 on CUDA for models
    whose card marks them fp16-safe. "exact" always uses float32.
    """
    if precision not in PRECISIONS:
        raise InvalidParameter(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    entry = get(name)
    if entry.automatic:
        raise InvalidParameter(f"{name} chooses a model per photo: enlarge through srdesk.engine.pipeline.run, "
                               f"or load one of {', '.join(entry.choices or ())}")
    if not entry.learned:
        assert entry.method is not None
        return ClassicalUpscaler(entry.name, entry.method)
    from srdesk.core.devices import resolve_device

    torch_device = resolve_device(device)
    if entry.path is not None:
        path = Path(entry.path)
        if path.suffix == ".param":  # ncnn computes on a Vulkan GPU where there is one and a GPU may be used
            return NcnnUpscaler(entry.name, path, path.with_suffix(".bin"), vulkan=device != "cpu")
        return _load_community(entry.name, path, torch_device, precision)
    if entry.build is not None:  # tests: a network without weights
        assert entry.scale is not None
        if entry.sampler:
            return SamplingUpscaler(entry.name, entry.build(), entry.scale, torch_device)
        return TorchUpscaler(entry.name, entry.build(), entry.scale, torch_device,
                             receptive_radius=entry.receptive_radius)
    assert entry.weights is not None
    state, card = load_verified(entry.weights)
    if strength is not None and strength != 1.0:
        if not entry.has_strength:
            raise InvalidParameter(f"{name} has no detail strength to set; models with one: "
                                   f"{', '.join(e.name for e in entries() if e.has_strength)}")
        if entry.faithful is not None:
            state = interpolate(state, load_verified(entry.faithful)[0], strength)
    params = card.architecture
    arch = ARCHITECTURES.get(str(params.get("arch")))
    if arch is None:
        raise InvalidParameter(f"model {name!r}: unknown architecture {params.get('arch')!r} in its card")
    module = arch.build(params)
    module.load_state_dict(state)
    if entry.drawn_texture and strength is not None:
        texture = getattr(module, "texture", None)
        if texture is None:
            raise InvalidParameter(f"model {name!r}: its card describes no texture head")
        texture.strength = float(strength)
    scale = int(params["scale"])
    if arch.kind == "sampler":
        return SamplingUpscaler(entry.name, module, scale, torch_device, tile=int(params.get("input_size", 8)),
                                card=card)
    reduced = precision == "auto"
    fp16 = reduced and "fp16" in arch.precisions and card.fp16_safe and torch_device.type == "cuda"
    cpu_bf16 = reduced and "bf16" in arch.precisions and torch_device.type == "cpu" and cpu_has_native_bf16()
    return TorchUpscaler(entry.name, module, scale, torch_device, fp16=fp16, cpu_bf16=cpu_bf16,
                         receptive_radius=arch.receptive_radius(params),
                         bytes_per_input_pixel=arch.bytes_per_input_pixel(params), card=card)
