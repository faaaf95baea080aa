"""How fast each discriminator learns to tell photos from a model's results, the generator held fixed.

    python -m bench.discriminator_probe [--variants patch,patch-aa,unet,unet-aa] [--steps 400] [--seeds 0,1,2]
                                        [--generator photo-crisp-x4] [--channels 32] [--crop 64] [--batch 6]

A GAN gives texture only once its discriminator separates real from generated
photos; one that stays at chance (loss 2 ln 2 = 1.386, accuracy 0.5) teaches
nothing. This trains each variant alone (Adam 1e-4, the GAN loss) on realistic
training crops against the fixed model's results and prints its loss and
accuracy every 50 steps, so a discriminator design is judged in minutes on the
CPU instead of after an hour of GAN training.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch


def main() -> int:
    from srdesk.engine import pipeline
    from srdesk.models.discriminators import build_discriminator
    from srdesk.training import losses
    from srdesk.training.data import PhotoCrops, list_images
    from srdesk.training.sr_trainer import DEFAULT_HOLDOUT, SRConfig, training_degradation

    parser = argparse.ArgumentParser()
    parser.add_argument("--variants", default="patch,patch-aa,unet,unet-aa")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--generator", default="photo-crisp-x4")
    parser.add_argument("--photos", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/train/photos")
    parser.add_argument("--channels", type=int, default=32)
    parser.add_argument("--crop", type=int, default=64)
    parser.add_argument("--batch", type=int, default=6)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seeds", default="0", help="initialisations to try (when a discriminator starts to "
                        "separate varies with its initialisation)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    upscaler = pipeline.get_upscaler(args.generator, "cpu", "exact")
    generator = upscaler.module.eval()  # type: ignore[attr-defined]
    config = SRConfig(scale=upscaler.scale, degradation="real", degradation_strength=0.5, clean_prob=0.3,
                      camera_prob=0.7)
    paths = [p for p in list_images(args.photos) if p.name not in DEFAULT_HOLDOUT][:40]
    print("variant | seed | step | loss | accuracy | seconds")
    runs = [(v, int(seed)) for v in args.variants.split(",") if v for seed in args.seeds.split(",") if seed]
    for variant, seed in runs:
        kind, antialias = variant.split("-")[0], variant.endswith("-aa")
        torch.manual_seed(seed)
        data = PhotoCrops(paths, args.crop, upscaler.scale, seed=1, degradation=training_degradation(config))
        disc = build_discriminator(kind, args.channels, "none" if kind == "unet" else "batch", antialias)
        opt = torch.optim.Adam(disc.parameters(), lr=1e-4, betas=(0.9, 0.999))
        start, window = time.time(), []
        for step in range(1, args.steps + 1):
            lr, hr = data.batch(args.batch)
            with torch.no_grad():
                sr = generator(lr).clamp(0, 1)
            real, fake = disc(hr, lr), disc(sr, lr)
            loss = losses.discriminator_loss("gan", real, fake)
            opt.zero_grad()
            loss.backward()
            opt.step()
            window.append((loss.item(), 0.5 * ((real > 0).float().mean() + (fake < 0).float().mean()).item()))
            if step % 50 == 0:
                mean_loss = sum(w[0] for w in window) / len(window)
                accuracy = sum(w[1] for w in window) / len(window)
                print(f"{variant} | {seed} | {step} | {mean_loss:.3f} | {accuracy:.3f} | {time.time() - start:.0f}",
                      flush=True)
                window = []
    return 0


if __name__ == "__main__":
    sys.exit(main())
