"""Realistic degradations for training: how real low-resolution photos come about.

A second-order pipeline in the spirit of Real-ESRGAN (Wang et al. 2021,
"Real-ESRGAN: Training Real-World Blind Super-Resolution with Pure Synthetic
Data", section 3): twice in a row, blur -> random resize -> noise -> JPEG,
then a final resize to the low-resolution size with a sinc filter (ringing and
overshoot, as sharpening and lossy resizers leave them) and a last JPEG, in
either order. Every parameter and probability lives in :class:`Degradation`;
its defaults are the paper's (its ``train_realesrnet_x4plus.yml``).

That pipeline was made for old, many-times-reprocessed internet pictures; most
photos people enlarge went through one camera and one encoder. A share of the
samples (``camera_prob``) therefore takes a first-order camera path instead
(:class:`CameraStage`): lens blur -> anti-aliased reduction (the sensor's
pixel integration) -> signal-dependent sensor noise, sigma^2 = a*I + b^2 (the
Poisson-Gaussian model of Foi et al. 2008, as in Brooks et al. 2019,
"Unprocessing Images for Learned Raw Denoising") -> at most one JPEG.

Blur, resize and noise run in torch on whatever device the crops are on;
JPEG is a real Pillow round trip (the codec users' photos went through), on
8-bit pixels. Each sample draws its parameters from its own generator, seeded
from the caller's numpy Generator, so a batch is reproducible from that
generator's state (which the trainer checkpoints) and independent of the
batch size and of the device.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from scipy import special

KERNEL_KINDS = ("iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso")
RESIZE_MODES = ("area", "bilinear", "bicubic")


@dataclass(frozen=True)
class BlurStage:
    kernel_probs: tuple[float, ...] = (0.45, 0.25, 0.12, 0.03, 0.12, 0.03)  # over KERNEL_KINDS
    sigma: tuple[float, float] = (0.2, 3.0)
    beta_generalized: tuple[float, float] = (0.5, 4.0)
    beta_plateau: tuple[float, float] = (1.0, 2.0)
    sinc_prob: float = 0.1
    kernel_sizes: tuple[int, int] = (7, 21)  # odd sizes drawn uniformly in this range


@dataclass(frozen=True)
class NoiseStage:
    resize_probs: tuple[float, float, float] = (0.2, 0.7, 0.1)  # up, down, keep
    resize_range: tuple[float, float] = (0.15, 1.5)
    gaussian_prob: float = 0.5  # else Poisson
    gaussian_sigma: tuple[float, float] = (1.0, 30.0)  # in 8-bit levels
    poisson_scale: tuple[float, float] = (0.05, 3.0)
    gray_prob: float = 0.4
    jpeg_quality: tuple[int, int] = (30, 95)


@dataclass(frozen=True)
class CameraStage:
    """One camera and one encoder: the first-order path."""

    sigma: tuple[float, float] = (0.2, 1.6)  # lens blur, HR pixels (Gaussian, iso or aniso)
    aniso_prob: float = 0.3
    shot: tuple[float, float] = (0.0, 0.01)  # a of sigma^2 = a * I + b^2 (I in [0, 1])
    read: tuple[float, float] = (0.0, 6.0)  # b, in 8-bit levels
    gray_prob: float = 0.2  # noise alike in all channels (denoised chroma)
    jpeg_prob: float = 0.9  # else the image stays lossless (PNG, scans)
    jpeg_quality: tuple[int, int] = (45, 95)


@dataclass(frozen=True)
class Degradation:
    """All parameters of the second-order pipeline; defaults are Real-ESRGAN's."""

    scale: int = 4
    blur1: BlurStage = field(default_factory=BlurStage)
    stage1: NoiseStage = field(default_factory=NoiseStage)
    second_blur_prob: float = 0.8
    blur2: BlurStage = field(default_factory=lambda: BlurStage(sigma=(0.2, 1.5)))
    stage2: NoiseStage = field(
        default_factory=lambda: NoiseStage(
            resize_probs=(0.3, 0.4, 0.3), resize_range=(0.3, 1.2), gaussian_sigma=(1.0, 25.0), poisson_scale=(0.05, 2.5)
        )
    )
    final_sinc_prob: float = 0.8
    # srdesk addition: this share of samples gets the plain bicubic reduction, so
    # clean, well-exposed photos (which users also have) are not over-smoothed.
    clean_prob: float = 0.0
    # srdesk addition: this share of (non-clean) samples takes the first-order camera path instead
    camera_prob: float = 0.0
    camera: CameraStage = field(default_factory=CameraStage)

    def milder(self, factor: float) -> Degradation:
        """The same pipeline with noise, blur and JPEG damage scaled towards none (factor in [0, 1])."""

        def noise(stage: NoiseStage) -> NoiseStage:
            lo_q, hi_q = stage.jpeg_quality
            return NoiseStage(
                stage.resize_probs,
                stage.resize_range,
                stage.gaussian_prob,
                (stage.gaussian_sigma[0] * factor, stage.gaussian_sigma[1] * factor),
                (stage.poisson_scale[0] * factor, stage.poisson_scale[1] * factor),
                stage.gray_prob,
                (round(95 - (95 - lo_q) * factor), hi_q),
            )

        def blur(stage: BlurStage) -> BlurStage:
            lo, hi = stage.sigma
            return BlurStage(stage.kernel_probs, (lo, lo + (hi - lo) * factor), stage.beta_generalized,
                             stage.beta_plateau, stage.sinc_prob, stage.kernel_sizes)

        return Degradation(self.scale, blur(self.blur1), noise(self.stage1), self.second_blur_prob,
                           blur(self.blur2), noise(self.stage2), self.final_sinc_prob, self.clean_prob,
                           self.camera_prob, self.camera)


# -- kernels (numpy, float64, each sums to 1) ---------------------------------------------------


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    r = np.arange(size, dtype=np.float64) - size // 2
    return np.meshgrid(r, r, indexing="xy")


def anisotropic_kernel(size: int, sigma_x: float, sigma_y: float, theta: float, beta: float = 1.0,
                       shape: str = "gaussian") -> np.ndarray:
    """Gaussian, generalised Gaussian exp(-0.5 d^beta) or plateau 1/(1 + d^beta) kernel.

    d is the squared Mahalanobis distance under the covariance
    R(theta) diag(sigma_x^2, sigma_y^2) R(theta)^T; beta = 1 with
    ``shape="gaussian"`` is the ordinary Gaussian.
    """
    if size % 2 == 0:
        raise ValueError(f"kernel size must be odd, got {size}")
    rotation = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    covariance = rotation @ np.diag([sigma_x**2, sigma_y**2]) @ rotation.T
    inverse = np.linalg.inv(covariance)
    x, y = _grid(size)
    d = inverse[0, 0] * x * x + (inverse[0, 1] + inverse[1, 0]) * x * y + inverse[1, 1] * y * y
    if shape == "gaussian":
        kernel = np.exp(-0.5 * d)
    elif shape == "generalized":
        kernel = np.exp(-0.5 * np.power(d, beta))
    elif shape == "plateau":
        kernel = 1.0 / (1.0 + np.power(d, beta))
    else:
        raise ValueError(f"unknown kernel shape {shape!r}")
    return kernel / kernel.sum()


def sinc_kernel(size: int, cutoff: float) -> np.ndarray:
    """Circular low-pass (2-D sinc, ideal disc spectrum of radius ``cutoff`` rad/px), normalised to sum 1.

    Its side lobes produce the ringing and overshoot artefacts of real images.
    """
    if size % 2 == 0:
        raise ValueError(f"kernel size must be odd, got {size}")
    x, y = _grid(size)
    r = np.hypot(x, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        kernel = cutoff * special.j1(cutoff * r) / (2 * np.pi * r)
    kernel[size // 2, size // 2] = cutoff**2 / (4 * np.pi)
    return kernel / kernel.sum()


def random_blur_kernel(stage: BlurStage, rng: np.random.Generator) -> np.ndarray:
    lo, hi = stage.kernel_sizes
    size = int(rng.choice(np.arange(lo, hi + 1, 2)))
    if rng.random() < stage.sinc_prob:
        # Real-ESRGAN: small kernels ring less, so they may cut off lower.
        cutoff = rng.uniform(np.pi / 3, np.pi) if size < 13 else rng.uniform(np.pi / 5, np.pi)
        return sinc_kernel(size, cutoff)
    kind = KERNEL_KINDS[int(rng.choice(len(KERNEL_KINDS), p=np.asarray(stage.kernel_probs) / sum(stage.kernel_probs)))]
    sigma_x = rng.uniform(*stage.sigma)
    isotropic = kind.endswith("iso") and not kind.endswith("aniso")
    sigma_y = sigma_x if isotropic else rng.uniform(*stage.sigma)
    theta = 0.0 if isotropic else rng.uniform(-np.pi, np.pi)
    if kind.startswith("generalized"):
        return anisotropic_kernel(size, sigma_x, sigma_y, theta, rng.uniform(*stage.beta_generalized), "generalized")
    if kind.startswith("plateau"):
        return anisotropic_kernel(size, sigma_x, sigma_y, theta, rng.uniform(*stage.beta_plateau), "plateau")
    return anisotropic_kernel(size, sigma_x, sigma_y, theta)


# -- operations on one image (C, H, W) in [0, 1] ------------------------------------------------


# From this kernel size on, filter2d convolves through the FFT: the training blurs (7-21 taps) are most of a
# realistic batch's cost, and oneDNN's depthwise convolution is slow for large kernels (21 taps on a 256 px
# crop: ~40 ms on one core, ~5 ms by FFT). A batch of the GPU recipe (64 x 256 px, the shipped mix) took
# 1.26-1.34 s on a busy core with every blur direct, 0.62 s with FFT from 9 taps, 0.66-0.75 from 7 or 11,
# 0.9-1.0 from 15 (`python -m bench.data_speed`).
FFT_KERNEL_SIZE = 9


def filter2d(image: torch.Tensor, kernel: np.ndarray) -> torch.Tensor:
    """Convolve every channel with ``kernel`` (reflect padding, so the size is kept).

    Large kernels go through the FFT (the same result within float rounding, ~1e-6)."""
    pad = kernel.shape[0] // 2
    channels = image.shape[0]
    weight = torch.as_tensor(kernel, dtype=image.dtype, device=image.device)
    padded = F.pad(image[None], (pad, pad, pad, pad), mode="reflect" if min(image.shape[1:]) > pad else "replicate")[0]
    if kernel.shape[0] < FFT_KERNEL_SIZE or image.dtype not in (torch.float32, torch.float64):
        return F.conv2d(padded[None], weight.expand(channels, 1, *kernel.shape), groups=channels)[0]
    # conv2d correlates: the same as convolving with the kernel turned by 180 degrees; the padded image's
    # circular convolution is exact away from its first 2 * pad rows and columns, which are cut away
    size = padded.shape[1:]
    spectrum = torch.fft.rfft2(padded) * torch.fft.rfft2(torch.flip(weight, (0, 1)), s=size)
    return torch.fft.irfft2(spectrum, s=size)[:, 2 * pad :, 2 * pad :]


def unsharp_mask(images: torch.Tensor, weight: float = 0.5, sigma: float = 8.0, threshold: float = 10 / 255
                 ) -> torch.Tensor:
    """Sharpened copies of a batch (N, C, H, W) of training targets, as Real-ESRGAN sharpens its ground truth.

    ``image + weight * (image - blur)``, blended in only where the residual exceeds ``threshold`` (a
    softened mask keeps flat areas and noise as they were), clipped to [0, 1]. Real-ESRGAN's defaults:
    a 51-tap Gaussian (sigma 8), weight 0.5, threshold 10 levels.
    """
    n, c, h, w = images.shape
    size = min(2 * math.ceil(3 * sigma) + 1, 2 * (min(h, w) // 2) - 1)
    kernel = anisotropic_kernel(size, sigma, sigma, 0.0)

    def blur(x: torch.Tensor) -> torch.Tensor:
        return filter2d(x.reshape(n * c, h, w), kernel).reshape(n, c, h, w)

    residual = images - blur(images)
    mask = blur((residual.abs() > threshold).to(images.dtype)).clamp(0, 1)
    sharp = (images + weight * residual).clamp(0, 1)
    return mask * sharp + (1 - mask) * images


def resize(image: torch.Tensor, size: tuple[int, int], mode: str, antialias: bool = False) -> torch.Tensor:
    """Real-ESRGAN resizes without anti-aliasing (aliasing is one of its damages); ``antialias`` widens
    the bilinear/bicubic kernel when reducing, as a camera's optics and pixels do."""
    if mode not in RESIZE_MODES:
        raise ValueError(f"unknown resize mode {mode!r}")
    kwargs = {} if mode == "area" else {"align_corners": False, "antialias": antialias}
    return F.interpolate(image[None], size=size, mode=mode, **kwargs)[0]


def gaussian_noise(image: torch.Tensor, sigma_levels: float, gray: bool, generator: torch.Generator) -> torch.Tensor:
    """Additive white Gaussian noise of standard deviation ``sigma_levels``/255 (one field for all channels if gray)."""
    shape = (1, *image.shape[1:]) if gray else image.shape
    noise = torch.randn(shape, generator=generator, device=image.device, dtype=image.dtype)
    return image + noise * (sigma_levels / 255.0)


def poisson_noise(image: torch.Tensor, scale: float, gray: bool, generator: torch.Generator) -> torch.Tensor:
    """Shot noise: counts ~ Poisson(256 x intensity), the deviation from the mean scaled by ``scale``."""
    levels = 256.0
    base = image.clamp(0, 1)
    if gray:
        base = (0.299 * base[0] + 0.587 * base[1] + 0.114 * base[2])[None]
    counts = torch.poisson(base * levels, generator=generator)
    return image + (counts / levels - base) * scale


def jpeg(image: torch.Tensor, quality: int) -> torch.Tensor:
    """A real JPEG round trip (Pillow, 4:2:0 as cameras and the web use) of the 8-bit image."""
    pixels = (image.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=int(quality))
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        out = np.asarray(decoded.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(out).permute(2, 0, 1).to(image.device, image.dtype)


def sensor_noise(image: torch.Tensor, shot: float, read_levels: float, gray: bool,
                 generator: torch.Generator) -> torch.Tensor:
    """Poisson-Gaussian sensor noise in its Gaussian approximation: sigma^2 = shot * I + (read/255)^2."""
    base = image.clamp(0, 1)
    if gray:
        base = (0.299 * base[0] + 0.587 * base[1] + 0.114 * base[2])[None]
    sigma = torch.sqrt(shot * base + (read_levels / 255.0) ** 2)
    noise = torch.randn(base.shape, generator=generator, device=image.device, dtype=image.dtype)
    return image + noise * sigma


def camera_one(hr: torch.Tensor, stage: CameraStage, scale: int, rng: np.random.Generator,
               gen: torch.Generator) -> torch.Tensor:
    """The first-order camera path: (C, H, W) -> (C, H/s, W/s), not yet quantised."""
    h, w = hr.shape[1:]
    sigma_x = rng.uniform(*stage.sigma)
    sigma_y, theta = sigma_x, 0.0
    if rng.random() < stage.aniso_prob:
        sigma_y, theta = rng.uniform(*stage.sigma), rng.uniform(-np.pi, np.pi)
    size = 2 * math.ceil(3 * max(sigma_x, sigma_y)) + 1
    out = filter2d(hr, anisotropic_kernel(size, sigma_x, sigma_y, theta))
    out = resize(out, (h // scale, w // scale), RESIZE_MODES[int(rng.integers(len(RESIZE_MODES)))], antialias=True)
    out = sensor_noise(out, rng.uniform(*stage.shot), rng.uniform(*stage.read), bool(rng.random() < stage.gray_prob),
                       gen)
    if rng.random() < stage.jpeg_prob:
        out = jpeg(out, int(rng.integers(stage.jpeg_quality[0], stage.jpeg_quality[1] + 1)))
    return out


def _noise(image: torch.Tensor, stage: NoiseStage, rng: np.random.Generator, gen: torch.Generator) -> torch.Tensor:
    gray = bool(rng.random() < stage.gray_prob)
    if rng.random() < stage.gaussian_prob:
        return gaussian_noise(image, rng.uniform(*stage.gaussian_sigma), gray, gen)
    return poisson_noise(image, rng.uniform(*stage.poisson_scale), gray, gen)


def _random_resize(image: torch.Tensor, stage: NoiseStage, base: tuple[int, int], rng: np.random.Generator
                   ) -> torch.Tensor:
    direction = int(rng.choice(3, p=np.asarray(stage.resize_probs) / sum(stage.resize_probs)))
    factor = (rng.uniform(1, stage.resize_range[1]), rng.uniform(stage.resize_range[0], 1), 1.0)[direction]
    size = (max(1, int(base[0] * factor)), max(1, int(base[1] * factor)))
    return resize(image, size, RESIZE_MODES[int(rng.integers(len(RESIZE_MODES)))])


def _to_levels(image: torch.Tensor) -> torch.Tensor:
    """Clipped and rounded to 8-bit levels (still in [0, 1]): what a saved LR picture holds."""
    return (image.clamp(0, 1) * 255).round() / 255


def degrade_one(hr: torch.Tensor, config: Degradation, rng: np.random.Generator, gen: torch.Generator) -> torch.Tensor:
    """(C, H, W) in [0, 1], H and W multiples of the scale -> the 8-bit LR image (C, H/s, W/s)."""
    h, w = hr.shape[1:]
    lr_size = (h // config.scale, w // config.scale)
    if config.camera_prob > 0 and rng.random() < config.camera_prob:
        return _to_levels(camera_one(hr, config.camera, config.scale, rng, gen))
    # first order
    out = filter2d(hr, random_blur_kernel(config.blur1, rng))
    out = _random_resize(out, config.stage1, (h, w), rng)
    out = _noise(out, config.stage1, rng, gen).clamp(0, 1)
    out = jpeg(out, int(rng.integers(config.stage1.jpeg_quality[0], config.stage1.jpeg_quality[1] + 1)))
    # second order
    if rng.random() < config.second_blur_prob:
        out = filter2d(out, random_blur_kernel(config.blur2, rng))
    out = _random_resize(out, config.stage2, lr_size, rng)
    out = _noise(out, config.stage2, rng, gen).clamp(0, 1)
    # final: resize to the LR size with a sinc (or no) filter, and JPEG, in a random order
    final_mode = RESIZE_MODES[int(rng.integers(len(RESIZE_MODES)))]
    size = int(rng.choice(np.arange(7, 22, 2)))
    sinc = sinc_kernel(size, rng.uniform(np.pi / 3, np.pi)) if rng.random() < config.final_sinc_prob else None
    quality = int(rng.integers(config.stage2.jpeg_quality[0], config.stage2.jpeg_quality[1] + 1))
    if rng.random() < 0.5:
        out = resize(out, lr_size, final_mode)
        if sinc is not None:
            out = filter2d(out, sinc)
        out = jpeg(out, quality)
    else:
        out = jpeg(out, quality)
        out = resize(out, lr_size, final_mode)
        if sinc is not None:
            out = filter2d(out, sinc)
    return _to_levels(out)


def degrade_batch(hr: torch.Tensor, config: Degradation, rng: np.random.Generator,
                  clean: torch.Tensor | None = None) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, H/s, W/s). ``clean`` (same shape as the result) is used for the
    ``clean_prob`` share of samples; each sample's parameters come from its own seed drawn from ``rng``."""
    out = []
    for i in range(hr.shape[0]):
        seed = int(rng.integers(0, 2**62))
        sample_rng = np.random.default_rng(seed)
        if clean is not None and sample_rng.random() < config.clean_prob:
            out.append(clean[i])
            continue
        gen = torch.Generator(device=hr.device)
        gen.manual_seed(seed)
        out.append(degrade_one(hr[i], config, sample_rng, gen))
    return torch.stack(out)
