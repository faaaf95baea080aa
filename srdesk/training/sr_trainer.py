"""SRResNet (stage 1, pixel loss) and SRGAN (stage 2, content + adversarial) training."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn

from srdesk.core.evaluate import benchmark_files, evaluate, image_score, make_pair
from srdesk.models import registry
from srdesk.models.base import TorchUpscaler
from srdesk.models.discriminators import Discriminator, build_discriminator
from srdesk.models.span import SPAN, widened_state
from srdesk.training import losses
from srdesk.training.data import PhotoCrops, list_images, load_rgb_uint8
from srdesk.training.degrade import Degradation, unsharp_mask
from srdesk.training.trainer import RunConfig, Trainer, init_matching

# Photos kept out of training: validation crops, and the source of the sample
# photo shipped in resources/ (so the demo never shows a memorised image).
DEFAULT_HOLDOUT = (
    "budgie-backgrounds_perched-osprey.jpg",
    "enlightenment-data_Colorful_Roses.jpg",
    "lxqt-themes_Valendas.jpg",
    "plasma-workspace-wallpapers_ColorfulCups.jpg",
)


@dataclass
class SRConfig(RunConfig):
    scale: int = 4
    crop: int = 96
    arch: str = "srresnet"  # "srresnet" (Ledig et al.) | "span" (attention-free efficient blocks)
    blocks: int = 16
    channels: int = 64
    batch_norm: bool = False
    image_skip: bool = True
    out_refine: int = 0  # SPAN: channels of a residual conv pair at the output's resolution (0 = none; span.py)
    second_pass: bool = False  # SPAN: a second network enlarges the first one's result reduced again (span.py)
    pixel_loss: str = "l1"
    degradation: str = "bicubic"  # "bicubic" (the literature's) | "real" (srdesk.training.degrade)
    degradation_strength: float = 1.0  # "real": 1 = Real-ESRGAN's ranges, smaller is milder
    clean_prob: float = 0.0  # "real": share of samples reduced by plain bicubic
    camera_prob: float = 0.0  # "real": share of the others taking the first-order camera path (degrade.CameraStage)
    val_degradation: str = "clean"  # validation inputs: "clean" | "real" (srdesk.core.evaluate)
    data_workers: int = 0  # processes preparing the next batches (worth it on a GPU)
    # multi-scale photos (data.PhotoCrops): this share of the crops comes from the photo reduced by a factor
    # drawn uniformly from [rescale_min, 1] (anti-aliased), sharper and cleaner per pixel than the photo itself
    rescale_prob: float = 0.0
    rescale_min: float = 1.0
    train_dir: str = "../shared/data/train/photos"
    val_dir: str = "../shared/data/benchmarks/Set5"
    holdout: list[str] = field(default_factory=lambda: list(DEFAULT_HOLDOUT))
    holdout_crop: int = 256
    init_from: str = ""  # safetensors of a stage-1 generator
    init_second_from: str = ""  # with --second-pass: the second network's weights (a single-pass SPAN's)
    # stage 2 (empty adversarial = stage 1)
    adversarial: str = ""
    adv_weight: float = 1e-3
    content_loss: str = "features"  # losses.CONTENT_LOSSES: "pixel" | "features" | "random-features" (also in stage 1)
    features_quarter_turn: bool = False  # random-features loss also on both images turned 90 degrees (no bias)
    features_transpose: bool = False  # random-features loss also on both images transposed (exact, any phase)
    content_weight: float = 1.0
    pixel_weight: float = 0.0  # extra pixel term during stage 2
    discriminator: str = "srgan"  # models.discriminators.DISCRIMINATORS: "srgan" | "patch" | "unet"
    d_norm: str = "batch"  # batch | instance | none; the patch discriminator also takes "spectral"
    d_channels: int = 64  # the discriminator's first width (the paper's 64, doubling to 512)
    d_lr: float = 1e-4
    d_antialias: bool = False  # blur-pooled downsampling in the patch/U-Net discriminator (no pixel grid taught)
    d_cells: bool = False  # patch discriminator: a second head on the generator's output cells (mosaic)
    n_critic: int = 1
    clip: float = 0.01
    gp_lambda: float = 10.0
    # Real-ESRGAN's sharpened ground truth: pixel and content losses aim at an unsharp-masked target
    # (degrade.unsharp_mask; 0 = off); the discriminator still sees the photos as they are.
    sharpen_weight: float = 0.0
    sharpen_sigma: float = 8.0
    sharpen_threshold: float = 10.0  # levels of 255
    # distillation: the pixel loss aims at what these installed models (registry names, run one after the
    # other on the same input; their scales multiply to --scale) make of the input, instead of the photo. The
    # loss leaves out a border of teacher_margin output px, where the teacher saw the crop's edge.
    teacher: list[str] = field(default_factory=list)
    teacher_margin: int = 16
    # An exponential moving average of the generator (0 = none; LDL's 0.999): validated and exported instead
    # of the generator itself, and the reference of the artefact loss.
    ema_decay: float = 0.0
    artifact_weight: float = 0.0  # LDL's artefact loss (losses.artifact_loss; needs ema_decay; LDL's 1.0)
    chroma_weight: float = 0.0  # L1 on Cb/Cr alone (losses.chroma_loss): no coloured fringes from the GAN
    # power beyond the photo's by frequency and direction (losses.spectrum_loss): no stripes or cross-hatch
    spectrum_weight: float = 0.0
    # EnhanceNet's texture loss (losses.texture_loss): the photo's texture statistics per tile, not its pixels
    texture_weight: float = 0.0
    texture_patch: int = 16  # px of the tile whose Gram matrices are compared
    # SPAN: a texture head (models.span.TextureHead) drawing texture from this many noise maps (0 = none)
    texture_head: int = 0
    texture_hidden: int = 16  # channels of its output-resolution convolutions
    # train the texture head alone over the frozen network, on the texture loss alone: the frozen network is
    # already the pixel loss's optimum, so a pixel term would only teach the head to draw nothing (it is logged)
    texture_only: bool = False

    def architecture(self) -> dict[str, Any]:
        return {
            "arch": self.arch,
            "scale": self.scale,
            "num_blocks": self.blocks,
            "channels": self.channels,
            "image_skip": self.image_skip,
        } | ({"batch_norm": self.batch_norm} if self.arch == "srresnet" else {}) \
          | ({"out_refine": self.out_refine} if self.out_refine else {}) \
          | ({"second_pass": True} if self.second_pass else {}) \
          | ({"texture": self.texture_head, "texture_hidden": self.texture_hidden} if self.texture_head else {})


def apply_stage2_defaults(config: SRConfig) -> SRConfig:
    """The papers' optimiser settings for each adversarial variant."""
    if config.adversarial == "wgan":
        config.d_lr = config.lr = 5e-5  # Arjovsky et al.: RMSProp at 5e-5 for both networks
        config.n_critic = max(config.n_critic, 5)
    elif config.adversarial == "wgan-gp":
        config.n_critic = max(config.n_critic, 5)
        if config.d_norm == "batch":
            config.d_norm = "none"  # the penalty is per sample: no batch norm in the critic
    elif config.adversarial == "patchgan":
        config.discriminator = "patch"
    if config.discriminator == "unet":
        config.d_norm = "none"  # spectral normalisation takes the place of batch norm
    return config


def keeps_best_psnr(config: SRConfig) -> bool:
    """Whether the run aims at the photos themselves, so that its best validation PSNR is its best weights."""
    return not (config.adversarial or config.sharpen_weight or config.texture_weight or config.teacher)


def training_degradation(config: SRConfig) -> Degradation | None:
    if config.degradation == "bicubic":
        return None
    if config.degradation != "real":
        raise ValueError(f"unknown degradation {config.degradation!r}; use 'bicubic' or 'real'")
    base = Degradation(scale=config.scale, clean_prob=config.clean_prob, camera_prob=config.camera_prob)
    return base.milder(config.degradation_strength) if config.degradation_strength != 1.0 else base


def build_generator(config: SRConfig) -> nn.Module:
    """The network the card's architecture describes: built by the registry's descriptor, as srdesk loads it."""
    params = config.architecture()
    return registry.architecture(params["arch"]).build(params)


def run_generator(generator: nn.Module, lr_image: np.ndarray, device: torch.device) -> np.ndarray:
    x = torch.from_numpy(np.ascontiguousarray(lr_image.transpose(2, 0, 1))).unsqueeze(0).to(device)
    return generator(x.float())[0].float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()


M = TypeVar("M", bound=nn.Module)


class SRTrainer(Trainer):
    # measured (clean-x4's command: SPAN 48x6, batch 16 of 128 px crops, one thread, AMX): 0.37 s a step
    # in float32, 0.15 s in bf16 and channels-last; tiny networks (the tests') are slower in bf16
    cpu_bf16 = True

    def __init__(self, config: SRConfig, data: PhotoCrops | None = None) -> None:
        super().__init__(config)
        self.config: SRConfig = config
        # on the CPU, oneDNN's convolutions are fastest on channels-last tensors (1.2-1.5x)
        self.memory_format = torch.channels_last if self.device.type == "cpu" else torch.contiguous_format
        if config.adversarial and config.adversarial not in losses.ADVERSARIAL:
            raise ValueError(f"unknown adversarial loss {config.adversarial!r}; use one of {losses.ADVERSARIAL}")
        if (config.out_refine or config.second_pass) and config.arch != "span":
            raise ValueError("--out-refine and --second-pass are SPAN options (--arch span)")
        self.generator = self._placed(build_generator(config))
        self.init_report = ""  # which tensors the given weights initialised
        if config.init_from:
            state = load_file(config.init_from)
            widened = ""
            if (isinstance(self.generator, SPAN) and "head.weight" in state
                    and state["head.weight"].shape[0] < self.generator.head.out_channels):
                # a narrower SPAN: the same function, with room to learn more
                state = widened_state(self.generator, state)
                widened = f" (widened from {config.init_from}'s channels, the same output)"
            self.init_report = init_matching(self.generator, state) + widened
        if config.init_second_from:
            second = getattr(self.generator, "second", None)
            if second is None:
                raise ValueError("--init-second-from needs --arch span --second-pass true")
            self.init_report += "; second pass: " + init_matching(second, load_file(config.init_second_from))
        if config.texture_head and config.arch != "span":
            raise ValueError("--texture-head is a SPAN option (--arch span)")
        if config.texture_only:
            if not (config.texture_head and config.texture_weight) or config.adversarial:
                raise ValueError("--texture-only trains a texture head on the texture loss: set --texture-head and "
                                 "--texture-weight, without --adversarial")
            assert isinstance(self.generator, SPAN) and self.generator.texture is not None
            self.generator.requires_grad_(False)
            self.generator.texture.requires_grad_(True)
        self.teacher = self._teacher_networks(config)
        self.pixel = losses.pixel_loss(config.pixel_loss)
        trained = [p for p in self.generator.parameters() if p.requires_grad]
        self.g_opt: torch.optim.Optimizer = torch.optim.Adam(trained, lr=config.lr, betas=(0.9, 0.99))
        if config.content_loss not in losses.CONTENT_LOSSES:
            raise ValueError(f"unknown content loss {config.content_loss!r}; use one of {losses.CONTENT_LOSSES}")
        self.perceptual = None
        if config.content_loss == "random-features":
            features = losses.RandomFeatures(config.seed, quarter_turn=config.features_quarter_turn,
                                             transpose=config.features_transpose)
            self.perceptual = self._placed(features)
        self.texture_features: losses.RandomFeatures | None = None
        if config.texture_weight:
            self.texture_features = self._placed(losses.RandomFeatures(config.seed, padding_mode="reflect"))
        self.discriminator: Discriminator | None = None
        self.d_opt: torch.optim.Optimizer | None = None
        if config.adversarial:
            self.discriminator = build_discriminator(config.discriminator, config.d_channels, config.d_norm,
                                                     config.d_antialias, config.scale if config.d_cells else 0)
            self._placed(self.discriminator)
            if config.adversarial == "wgan":
                # Arjovsky et al.: momentum-based optimisers destabilise the clipped critic.
                self.d_opt = torch.optim.RMSprop(self.discriminator.parameters(), lr=config.d_lr)
                self.g_opt = torch.optim.RMSprop(self.generator.parameters(), lr=config.lr)
            elif config.adversarial == "wgan-gp":
                self.d_opt = torch.optim.Adam(self.discriminator.parameters(), lr=config.d_lr, betas=(0.0, 0.9))
            else:
                self.d_opt = torch.optim.Adam(self.discriminator.parameters(), lr=config.d_lr, betas=(0.9, 0.999))
        if (config.artifact_weight or config.chroma_weight or config.spectrum_weight) and not config.adversarial:
            raise ValueError("the artefact, chroma and spectrum losses belong to the adversarial stage: "
                             "set --adversarial")
        if config.artifact_weight and not config.ema_decay:
            raise ValueError("the artefact loss compares with the generator's moving average: set --ema-decay")
        self.generator_ema: nn.Module | None = None
        if config.ema_decay:
            self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False)
        self.data = data if data is not None else self._make_data()
        self._val_files = benchmark_files(Path(config.val_dir)) if config.val_dir else []
        self._holdout = self._holdout_pairs()

    def _placed(self, module: M) -> M:
        """``module`` on the training device, in the layout its batches come in."""
        module.to(self.device)
        module.to(memory_format=self.memory_format)  # type: ignore[call-overload]
        return module

    def _make_data(self) -> PhotoCrops:
        train = [p for p in list_images(Path(self.config.train_dir)) if p.name not in self.config.holdout]
        return PhotoCrops(train, self.config.crop, self.config.scale, seed=self.config.seed,
                          degradation=training_degradation(self.config), workers=self.config.data_workers,
                          rescale_prob=self.config.rescale_prob, rescale_min=self.config.rescale_min)

    def _holdout_pairs(self) -> list[tuple[np.ndarray, np.ndarray]]:
        pairs = []
        folder = Path(self.config.train_dir)
        for name in self.config.holdout:
            path = folder / name
            if not path.exists():
                continue
            im = load_rgb_uint8(path)
            s = self.config.holdout_crop
            top, left = (im.shape[0] - s) // 2, (im.shape[1] - s) // 2
            pairs.append(make_pair(im[top : top + s, left : left + s], self.config.scale,
                                   self.config.val_degradation, key=name))
        return pairs

    def modules(self) -> dict[str, nn.Module]:
        mods: dict[str, nn.Module] = {"generator": self.generator}
        if self.generator_ema is not None:
            mods["generator_ema"] = self.generator_ema
        if self.discriminator is not None:
            mods["discriminator"] = self.discriminator
        return mods

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        opts: dict[str, torch.optim.Optimizer] = {"generator": self.g_opt}
        if self.d_opt is not None:
            opts["discriminator"] = self.d_opt
        return opts

    def base_learning_rates(self) -> dict[str, float]:
        return {"generator": self.config.lr, "discriminator": self.config.d_lr}

    def extra_state(self) -> dict[str, Any]:
        return {"data_rng": self.data.state()}

    def keeps_validated(self) -> bool:
        return not keeps_best_psnr(self.config)

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.data.set_state(state["data_rng"])

    def best_module(self) -> nn.Module:
        """The moving average where there is one (it is what the run validates), else the generator."""
        return self.generator_ema if self.generator_ema is not None else self.generator

    def _batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        lr, hr = self.data.batch(self.config.batch_size)
        return (lr.to(self.device, non_blocking=True).contiguous(memory_format=self.memory_format),
                hr.to(self.device, non_blocking=True).contiguous(memory_format=self.memory_format))

    def _teacher_networks(self, config: SRConfig) -> list[nn.Module]:
        """The installed models whose result on the input the pixel loss aims at (``--teacher``), in order."""
        if not config.teacher:
            return []
        if config.adversarial or config.sharpen_weight or config.texture_weight or config.content_loss != "features":
            raise ValueError("--teacher takes the place of the photo as the pixel loss's target: it goes without "
                             "--adversarial, --sharpen-weight, --texture-weight and --content-loss")
        networks, scale = [], 1
        for name in config.teacher:
            upscaler = registry.load(name, str(self.device), "exact")
            if not isinstance(upscaler, TorchUpscaler):
                raise ValueError(f"--teacher {name}: not one of srdesk's convolutional models")
            networks.append(upscaler.module)
            scale *= upscaler.scale
            if upscaler.card is not None:  # which weights taught this run (the card load verified), for its card
                config.extra.setdefault("teacher_sha256", {})[name] = upscaler.card.sha256
        if scale != config.scale:
            raise ValueError(f"--teacher {','.join(config.teacher)} enlarges x{scale}, the run x{config.scale}")
        return networks

    def _target(self, lr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        """What the pixel and content losses aim at: the photo, its sharpened copy, or the teacher's result."""
        if self.teacher:
            with torch.no_grad():
                result = lr.float()
                for network in self.teacher:
                    result = network(result).float().clamp(0, 1)  # each pass sees a picture, as in use
            return result
        if not self.config.sharpen_weight:
            return hr
        cfg = self.config
        return unsharp_mask(hr, cfg.sharpen_weight, cfg.sharpen_sigma, cfg.sharpen_threshold / 255)

    def train_step(self) -> dict[str, float]:
        if not self.config.adversarial:
            lr, hr = self._batch()
            target = self._target(lr, hr)
            with self.autocast():
                sr = self.generator(lr).float()
                if self.teacher and self.config.teacher_margin:  # not where the teacher saw the crop's edge
                    m = self.config.teacher_margin
                    sr, target = sr[..., m:-m, m:-m], target[..., m:-m, m:-m]
                loss = pixel = self.pixel(sr, target)
                if self.config.texture_only:
                    loss = torch.zeros_like(pixel)  # the pixel loss is logged, not optimised (see SRConfig)
                terms = {"pixel": pixel}
                if self.perceptual is not None:  # stage 1 may add the generic perceptual loss
                    terms["content"] = self.perceptual(sr, target)
                    loss = loss + self.config.content_weight * terms["content"]
                if self.texture_features is not None:
                    terms["texture"] = losses.texture_loss(self.texture_features, sr, hr, self.config.texture_patch)
                    loss = loss + self.config.texture_weight * terms["texture"]
            if len(terms) > 1:
                terms["loss"] = loss
            self.g_opt.zero_grad(set_to_none=True)
            loss.backward()
            self.g_opt.step()
            self._update_ema()
            # read back only after the step: on a GPU each .item() waits for the device
            return {name: value.item() for name, value in terms.items()}
        return self._adversarial_step()

    def _adversarial_step(self) -> dict[str, float]:
        cfg = self.config
        kind = cfg.adversarial
        disc, d_opt = self.discriminator, self.d_opt
        assert disc is not None and d_opt is not None
        out: dict[str, float] = {}
        # Critic/discriminator updates; WGAN variants take n_critic fresh batches.
        for _ in range(cfg.n_critic):
            lr, hr = self._batch()
            with torch.no_grad(), self.autocast():
                sr = self.generator(lr).float()
            with self.autocast():
                d_loss = losses.discriminator_loss(kind, disc(hr, lr).float(), disc(sr, lr).float())
            if kind == "wgan-gp":
                gp = losses.gradient_penalty(disc, hr, sr, lr)
                d_loss = d_loss + cfg.gp_lambda * gp
                out["gp"] = gp.item()
            d_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            d_opt.step()
            if kind == "wgan":
                losses.clip_weights(disc, cfg.clip)
        out["d_loss"] = d_loss.item()
        # Generator update: content + adv_weight x adversarial (+ optional pixel).
        lr, hr = self._batch()
        target = self._target(lr, hr)
        for p in disc.parameters():
            p.requires_grad_(False)
        with self.autocast():
            sr = self.generator(lr).float()
            if cfg.content_loss == "features":
                content = losses.feature_matching_loss(disc.forward_features(target, lr),
                                                       disc.forward_features(sr, lr))
            elif cfg.content_loss == "random-features":
                assert self.perceptual is not None
                content = self.perceptual(sr, target)
            else:
                content = self.pixel(sr, target)
            adversarial = losses.generator_adversarial_loss(kind, disc(sr, lr).float())
            g_loss = cfg.content_weight * content + cfg.adv_weight * adversarial
            pixel = self.pixel(sr, target)
            if cfg.pixel_weight:
                g_loss = g_loss + cfg.pixel_weight * pixel
            if cfg.artifact_weight:
                assert self.generator_ema is not None
                with torch.no_grad():
                    sr_ema = self.generator_ema(lr).float()
                artifacts = losses.artifact_loss(target, sr, sr_ema)
                g_loss = g_loss + cfg.artifact_weight * artifacts
                out["artifacts"] = artifacts.item()
            if cfg.chroma_weight:
                colour = losses.chroma_loss(sr, target)
                g_loss = g_loss + cfg.chroma_weight * colour
                out["chroma"] = colour.item()
            if self.texture_features is not None:
                texture = losses.texture_loss(self.texture_features, sr, hr, cfg.texture_patch)
                g_loss = g_loss + cfg.texture_weight * texture
                out["texture"] = texture.item()
            if cfg.spectrum_weight:
                spectrum = losses.spectrum_loss(sr, target)
                g_loss = g_loss + cfg.spectrum_weight * spectrum
                out["spectrum"] = spectrum.item()
        self.g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        self.g_opt.step()
        self._update_ema()
        for p in disc.parameters():
            p.requires_grad_(True)
        out.update(g_loss=g_loss.item(), content=content.item(), adversarial=adversarial.item(), pixel=pixel.item())
        return out

    def _update_ema(self) -> None:
        if self.generator_ema is not None:
            losses.update_ema(self.generator_ema, self.generator, self.config.ema_decay)

    def validate(self) -> dict[str, float]:
        scale = self.config.scale
        metrics: dict[str, float] = {}

        shipped = self.best_module()

        def upscale(lr_image: np.ndarray, _scale: int) -> np.ndarray:
            return run_generator(shipped, lr_image, self.device)

        if self._val_files:
            result = evaluate(upscale, self._val_files, scale, degradation=self.config.val_degradation)
            metrics["psnr"], metrics["ssim"] = result.mean_psnr, result.mean_ssim
            # a GAN's texture shows in the detail ratio, its artefacts in NIQE (both rise as a run goes wrong)
            metrics["detail"], metrics["niqe"] = result.mean_detail, result.mean_niqe
        if self._holdout:
            rows = [image_score("holdout", upscale(lr.astype(np.float32) / 255, scale), hr, scale)
                    for hr, lr in self._holdout]
            metrics["holdout_psnr"] = float(np.mean([r.psnr for r in rows]))
            metrics["holdout_detail"] = float(np.mean([r.detail for r in rows]))
            niqes = [r.niqe for r in rows]
            if np.isfinite(niqes).any():
                metrics["holdout_niqe"] = float(np.nanmean(niqes))
        # Stage 1 keeps the best PSNR; stage 2 trades PSNR for texture, and sharpened targets trade it for
        # crispness, so those keep the latest.
        metrics["score"] = float(self.step) if not keeps_best_psnr(self.config) else metrics.get("psnr", 0.0)
        return metrics
