"""Ship a trained run: copy its best weights into weights/ with a measured model card.

    srdesk-cli train export --run-dir runs/srresnet-x4 --name srresnet-x4 [--benchmarks DIR]

The card records the architecture (the registry builds the model from it),
the training configuration and steps, the sha256 that srdesk checks before
loading, and Y-PSNR/SSIM at x4 on Set5, Set14 and BSD68 next to bicubic,
measured with the same protocol as `srdesk-cli eval`.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from srdesk.engine import pipeline, selftest
from srdesk.engine.evaluation import measure
from srdesk.models import registry
from srdesk.models.weights import ModelCard, card_path, sha256_of, weights_dir, write_card
from srdesk.training.trainer import validated_name, validated_steps


def last_log_row(run_dir: Path) -> dict[str, str]:
    path = run_dir / "log.csv"
    if not path.exists():
        return {}
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return rows[-1] if rows else {}


SR_SOURCE = ("../shared/data/train/photos (Debian wallpaper packages; CC0, CC-BY, CC-BY-SA, GPL, BSD, LGPL, see its "
             "SOURCE.md)")
SR_PHOTOS = f"118 photographs from {SR_SOURCE}, 4 held out"
FACES_DATA = ("5,399 aligned CelebA faces (train split of ../shared/data/faces, identity-disjoint from the 600 test "
              "faces; CelebA terms: non-commercial research use, no images are shipped), 64 -> 32 px HR and "
              "32 -> 8 px LR by MATLAB-compatible bicubic, left-right flips")


def blend(first: Path, second: Path, alpha: float) -> dict[str, torch.Tensor]:
    """Network interpolation (Wang et al. 2018, ESRGAN): alpha x first + (1 - alpha) x second.

    For an adversarial fine-tune and the PSNR model it started from, this
    trades texture for fidelity continuously without retraining.
    """
    a, b = load_file(str(first)), load_file(str(second))
    if a.keys() != b.keys() or any(a[k].shape != b[k].shape for k in a):
        raise ValueError(f"{first} and {second} are not the same architecture")
    return {k: (alpha * a[k].float() + (1 - alpha) * b[k].float()).contiguous() for k in a}


def run_weights(run_dir: Path, step: int | None = None) -> Path:
    """A run's weights to ship: its best (or latest) ``best.safetensors``, or those validated at ``step``
    (kept by runs that keep their latest weights, see :meth:`Trainer.keeps_validated`)."""
    if step is None:
        return run_dir / "best.safetensors"
    path = run_dir / validated_name(step)
    if not path.exists():
        kept = validated_steps(run_dir)
        raise FileNotFoundError(f"{run_dir} has no weights validated at step {step} "
                                f"(validated steps kept: {', '.join(map(str, kept)) or 'none'})")
    return path


def _ship(run_dir: Path, name: str, description: str, architecture: dict[str, Any], data: str,
          extra: dict[str, Any], validation_metric: str | None,
          tensors: dict[str, torch.Tensor] | None = None, source: Path | None = None) -> ModelCard:
    """Copy the run's best weights (or ``source``, or ``tensors`` made from them) into weights/ and write their
    card.

    ``validation_metric`` says what the run's validation score was (None: the run kept its latest
    weights, as adversarial runs do). Metrics are added by the caller.
    """
    config = json.loads((run_dir / "config.json").read_text())
    source = source or run_weights(run_dir)
    with safe_open(str(source), "pt") as f:
        meta = f.metadata() or {}
    folder = weights_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.safetensors"
    if tensors is None:
        shutil.copyfile(source, target)
    else:
        save_file(tensors, str(target))
    validation = None
    if validation_metric is not None and "score" in meta:
        validation = {"metric": validation_metric, "value": round(float(meta["score"]), 4)}
    card = ModelCard(
        name=name, description=description, weights_file=target.name, sha256=sha256_of(target),
        architecture=architecture, fp16_safe=False, licence="MIT (weights trained by the srdesk project)",
        training={"data": data, "steps_at_export": int(meta.get("step", 0)), "validation": validation,
                  "config": config, "exported": date.today().isoformat()},
        extra=extra,
    )
    write_card(card, folder)
    return card


def photos_description(config: dict[str, Any]) -> str:
    """Where the training photos came from: the shared folder, or a pack of it made for a GPU machine."""
    manifest = Path(config.get("train_dir", "")).parent / "manifest.json"
    if not manifest.is_file():
        return SR_PHOTOS
    pack = json.loads(manifest.read_text())
    return (f"{pack['photos']} of the 118 photographs from {SR_SOURCE}, {len(pack['held_out'])} held out, as packed "
            f"for a GPU machine by srdesk-cli train pack ({pack['share_of_each_photo']:.0%} of each photo's area at "
            f"a random place, {pack['megapixels']} MP in all)")


def sr_data_description(config: dict[str, Any]) -> str:
    crops = f"{photos_description(config)}; {config.get('crop', 96)} px HR crops, 8 flips/rotations"
    if config.get("rescale_prob"):
        crops += (f", {config['rescale_prob']:.0%} of them from the photo reduced first (anti-aliased, by a factor "
                  f"from {config.get('rescale_min', 1.0):g} to 1)")
    text = f"{crops}, LR by MATLAB-compatible bicubic x{config.get('scale', 4)}, 8-bit"
    if config.get("degradation", "bicubic") == "real":
        camera = config.get("camera_prob", 0.0)
        text = (f"{crops}; LR by the "
                "realistic second-order degradation (srdesk.training.degrade: blur, resize, noise, JPEG twice, then "
                f"sinc + JPEG) at strength {config.get('degradation_strength', 1.0):g}, "
                f"{config.get('clean_prob', 0.0):.0%} plain bicubic"
                + (f", {camera:.0%} of the others by the first-order camera path (lens blur, anti-aliased "
                   "reduction, Poisson-Gaussian sensor noise, at most one JPEG)" if camera else "")
                + f"; x{config.get('scale', 4)}")
    if config.get("sharpen_weight"):
        adversarial = bool(config.get("adversarial"))
        content = adversarial or config.get("content_loss") == "random-features"
        text += (f"; {'pixel and content losses' if content else 'the pixel loss'} aimed at unsharp-masked photos "
                 f"(weight {config['sharpen_weight']:g}, Gaussian sigma {config.get('sharpen_sigma', 8.0):g} px, "
                 f"threshold {config.get('sharpen_threshold', 10.0):g} levels)"
                 + (", the discriminator shown them unsharpened" if adversarial else ""))
    if config.get("teacher"):
        digests = (config.get("extra") or {}).get("teacher_sha256", {})
        teachers = [f"{name} (sha256 {digests[name][:16]}...)" if name in digests else name
                    for name in config["teacher"]]
        text += (f"; the pixel loss aimed at what {' then '.join(teachers)} make of the same input "
                 "(distilled into one network), not at the photo")
    if config.get("adversarial"):
        d_kind = (config.get("discriminator", "srgan") + (" (blur-pooled)" if config.get("d_antialias") else "")
                  + " discriminator"
                  + (" that also sees the generator's output cells" if config.get("d_cells") else ""))
        text += (f"; adversarial stage: {config['adversarial']} loss x {config.get('adv_weight', 1e-3):g} with a "
                 f"{d_kind}, {config.get('content_loss', 'features')} content loss"
                 + (" (also on the images turned 90 degrees)" if config.get("features_quarter_turn") else "")
                 + (" (also on the images transposed)" if config.get("features_transpose") else "")
                 + (f" + pixel loss x {config['pixel_weight']:g}" if config.get("pixel_weight") else "")
                 + (f" + LDL artefact loss x {config['artifact_weight']:g}" if config.get("artifact_weight") else "")
                 + (f" + chroma L1 x {config['chroma_weight']:g}" if config.get("chroma_weight") else "")
                 + (f" + excess-spectrum loss x {config['spectrum_weight']:g}"
                    if config.get("spectrum_weight") else ""))
    if config.get("texture_weight"):
        loss = (f"texture loss x {config['texture_weight']:g} (EnhanceNet's: Gram matrices of a random CNN's "
                f"features over {config.get('texture_patch', 16)} px tiles, matched to the photo's)")
        if config.get("texture_only"):
            text += (f"; a texture head ({config.get('texture_head', 0)} noise maps, models.span.TextureHead) "
                     f"trained alone over the frozen network on the {loss}")
        else:
            text += f"; + {loss}"
    if config.get("ema_decay"):
        text += f"; the shipped weights are the generator's exponential moving average (decay {config['ema_decay']:g})"
    return text + continued_from(config)


def continued_from(config: dict[str, Any]) -> str:
    """"; continued from W ..." for a run that started from earlier weights, else ""."""
    init, second = config.get("init_from"), config.get("init_second_from")
    text = ""
    if init:
        # the file may be replaced by this very export: say which weights it was
        text = f"; continued from {init} as it was before this export ({_digest(init)})"
        if Path(init).exists() and config.get("arch") == "span":
            from safetensors import safe_open

            with safe_open(init, "pt") as f:
                narrower = f.get_slice("head.weight").get_shape()[0] if "head.weight" in f.keys() else None  # noqa: SIM118 (no __contains__)
            if narrower is not None and narrower < int(config.get("channels", narrower)):
                text += f", widened from its {narrower} channels to {config['channels']} (the same output at the start)"
    if second:
        text += f"; its second pass from {second} ({_digest(second)})"
    return text


def _digest(path: str) -> str:
    return f"sha256 {sha256_of(Path(path))[:16]}..." if Path(path).exists() else "sha256 unknown"


PROTOCOL = ("x{scale}, MATLAB bicubic reduction (clean) or srdesk.core.evaluate.real_degradation (real), "
            "Y channel (BT.601), {scale} px border shaved; detail = RMS luma gradient / ground truth's; "
            "NIQE on the result (lower is more natural); srdesk-cli eval")


def export(run_dir: Path, name: str, description: str, benchmarks: Path | None, extra: dict[str, Any],
           blend_with: Path | None = None, alpha: float = 1.0, step: int | None = None) -> Path:
    """Ship an SRResNet/SRGAN run, measured on the SR benchmarks (optionally blended with another model);
    ``step``: the weights validated at that step instead of the run's best/latest."""
    from srdesk.training.sr_trainer import SRConfig, keeps_best_psnr

    config = json.loads((run_dir / "config.json").read_text())
    source = run_weights(run_dir, step)
    tensors = None
    if blend_with is not None:
        tensors = blend(source, blend_with, alpha)
        extra = {**extra, "network_interpolation": {
            "alpha": alpha, "with": blend_with.name,
            "meaning": f"{alpha:g} x this run's weights + {1 - alpha:g} x {blend_with.name} (Wang et al. 2018)"}}
    sr_config = SRConfig(**config)
    metric = f"Set5 Y-PSNR (dB), {sr_config.val_degradation} inputs" if keeps_best_psnr(sr_config) else None
    card = _ship(run_dir, name, description, sr_config.architecture(), sr_data_description(config), extra, metric,
                 tensors, source)
    if benchmarks is not None:
        write_card(card)
        return remeasure(name, benchmarks)
    registry.get(name)  # the registry must know the name to serve it
    return card_path(name)


def remeasure(name: str, benchmarks: Path) -> Path:
    """Measure a shipped SR model (clean and real inputs, the self-test crop) and write its card's metrics;
    the weights are not touched."""
    card = registry.get(name).card()
    if card is None:
        raise ValueError(f"{name} has no card to update")
    scale = int(card.architecture["scale"])
    pipeline.clear_model_cache()
    card = card.with_(
        metrics=measure(name, benchmarks, scale), metrics_bicubic=measure("bicubic", benchmarks, scale),
        metrics_real=measure(name, benchmarks, scale, "real"),
        metrics_real_bicubic=measure("bicubic", benchmarks, scale, "real"),
        metrics_protocol=PROTOCOL.format(scale=scale))
    write_card(card)  # the self-test reads the card it checks against
    return write_card(card.with_(extra={**card.extra, "selftest": selftest.card_record(name)}))


def export_pixel_recursive(run_dir: Path, name: str, description: str, faces: Path | None,
                           regression_weights: Path | None, figure: Path | None, sample_faces: int) -> Path:
    """Ship a Pixel Recursive faces run, with the paper's evaluation on the test split in its card."""
    from safetensors.torch import load_file

    from srdesk.training.pr_evaluate import evaluate_faces, save_figure
    from srdesk.training.pr_trainer import PRConfig, RegressionNet, build_model

    config = PRConfig(**json.loads((run_dir / "config.json").read_text()))
    architecture = {**config.architecture(), "input_size": config.hr_size // config.scale}
    card = _ship(run_dir, name, description, architecture, FACES_DATA + continued_from(asdict(config)), {},
                 "minus the NLL in bits per sub-pixel on the validation faces")
    if faces is not None:
        model = build_model(config)
        model.load_state_dict(load_file(str(run_dir / "best.safetensors")))
        regression = None
        if regression_weights is not None:
            regression = RegressionNet(config.scale, config.cond_channels, config.cond_blocks)
            regression.load_state_dict(load_file(str(regression_weights)))
        result = evaluate_faces(model, faces, regression, sample_faces=sample_faces,
                                progress=lambda text: print(text, flush=True))
        card = card.with_(metrics=result.metrics)
        write_card(card)
        if figure is not None:
            save_figure(result.figure_rows, figure)
    registry.get(name)
    return card_path(name)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="srdesk-cli train export")
    parser.add_argument("--run-dir", type=Path, default=None)
    parser.add_argument("--name", required=True)
    parser.add_argument("--description", default="")
    parser.add_argument("--benchmarks", type=Path, default=None, help="folder with Set5/Set14/BSD68 (SR models)")
    parser.add_argument("--faces", type=Path, default=None, help="the faces folder (Pixel Recursive models)")
    parser.add_argument("--regression-weights", type=Path, default=None,
                        help="best.safetensors of a `train faces-regression` run: the L2 baseline")
    parser.add_argument("--blend-with", type=Path, default=None,
                        help="network interpolation: blend the run's weights with this safetensors file")
    parser.add_argument("--alpha", type=float, default=1.0, help="weight of the run's weights in the blend")
    parser.add_argument("--step", type=int, default=None,
                        help="ship the weights validated at this step (runs that keep their latest weights keep "
                             "each validation's in validated/) instead of the run's best or latest")
    parser.add_argument("--sample-faces", type=int, default=200, help="test faces to draw samples for")
    parser.add_argument("--figure", type=Path, default=None,
                        help="write input/bicubic/regression/samples/truth for a few test faces here "
                             "(CelebA images: for research use; keep it out of the repository and packages)")
    parser.add_argument("--history", default="",
                        help="what the saved config cannot say (e.g. an option changed when the run was resumed)")
    parser.add_argument("--remeasure", action="store_true",
                        help="only measure the shipped model --name again and update its card's metrics")
    args = parser.parse_args(argv)
    entry = registry.get(args.name)
    if args.remeasure:
        print(remeasure(args.name, args.benchmarks or Path("../shared/data/benchmarks")).read_text())
        return 0
    if args.run_dir is None:
        parser.error("--run-dir is needed to export a run")
    description = args.description or entry.description
    if entry.sampler:
        card = export_pixel_recursive(args.run_dir, args.name, description, args.faces, args.regression_weights,
                                      args.figure, args.sample_faces)
    else:
        extra = {"training_history": args.history} if args.history else {}
        try:
            card = export(args.run_dir, args.name, description, args.benchmarks, extra, args.blend_with, args.alpha,
                          args.step)
        except FileNotFoundError as e:
            parser.error(str(e))
    print(card.read_text())
    return 0
