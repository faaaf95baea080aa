"""`srdesk-cli`: enhance photos, list models, evaluate, train.

    srdesk-cli enhance INPUT... -o OUTDIR [--model NAME] [--scale N] ...
    srdesk-cli models
    srdesk-cli eval --model NAME --dataset DIR [--scale 4] [--json]
    srdesk-cli train sr|pixel-recursive [--resume] [--option value ...]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from srdesk import __version__
from srdesk.core import imageio
from srdesk.core.constants import DEFAULT_TEMPERATURE, DEGRADATIONS, OUTPUT_FORMATS, SCALE_MAX, SCALE_MIN
from srdesk.core.devices import DEVICE_CHOICES
from srdesk.core.errors import SrdeskError
from srdesk.core.request import PRECISIONS
from srdesk.engine import batch

EXIT_OK, EXIT_FAILURES, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _scale(text: str) -> float:
    value = float(text)
    if not SCALE_MIN <= value <= SCALE_MAX:
        raise argparse.ArgumentTypeError(f"scale must be between {SCALE_MIN:g} and {SCALE_MAX:g}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from srdesk.models import registry

    parser = argparse.ArgumentParser(prog="srdesk-cli", description="Make photos larger and sharper.")
    parser.add_argument("--version", action="version", version=f"srdesk {__version__}")
    parser.add_argument("--models-dir", type=Path, default=None,
                        help="your models folder (default: $SRDESK_MODELS_DIR, else models/ in srdesk's data folder)")
    sub = parser.add_subparsers(dest="command", required=True)

    enhance = sub.add_parser("enhance", help="enlarge photos (files or folders)")
    enhance.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    enhance.add_argument("-o", "--output", required=True, type=Path, metavar="OUTDIR", help="output folder")
    enhance.add_argument("-m", "--model", default=None, help=f"method or model (default {registry.DEFAULT_MODEL}"
                         f" when installed, else {registry.DEFAULT_CLASSICAL}); see `srdesk-cli models`")
    enhance.add_argument("-s", "--scale", type=_scale, default=4.0, help="enlargement factor (default 4)")
    enhance.add_argument("-r", "--recursive", action="store_true", help="look into sub-folders")
    enhance.add_argument("--tile", type=_positive_int, default=None, help="tile size in input pixels (default auto)")
    enhance.add_argument("--overlap", type=int, default=None, help="tile context in pixels (default: the model's)")
    enhance.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    enhance.add_argument("--precision", choices=PRECISIONS, default="auto",
                         help="auto: bfloat16 on CPUs that have it natively, float16 on CUDA where the model "
                              "allows (about 2x faster, same 8-bit result in practice); exact: always float32")
    enhance.add_argument("-f", "--format", choices=OUTPUT_FORMATS, default=None,
                         help="output format (default: same as the input)")
    enhance.add_argument("-q", "--quality", type=int, default=95, help="JPEG/WebP quality 1-100 (default 95)")
    enhance.add_argument("--pattern", default=batch.DEFAULT_PATTERN, help="output name pattern")
    enhance.add_argument("--existing", choices=batch.EXISTING_CHOICES, default="rename",
                         help="when an output file exists: rename (default, adds -2, -3...), skip it, or overwrite it "
                              "(originals are never overwritten)")
    enhance.add_argument("--overwrite", action="store_const", const="overwrite", dest="existing",
                         help="same as --existing overwrite")
    enhance.add_argument("--strength", type=_fraction, default=None,
                         help="detail strength 0..1 for models that have one (0: most faithful, 1: most detail; "
                              "default: the model's own)")
    enhance.add_argument("--threads", type=int, default=0,
                         help="CPU threads for learned models (default: the physical cores)")
    enhance.add_argument("--samples", type=_positive_int, default=1,
                         help="sampling models: how many different results per photo (one file each)")
    enhance.add_argument("--temperature", type=_fraction, default=DEFAULT_TEMPERATURE,
                         help="sampling models: 0 = most likely values, 1 = the model's full variety")
    enhance.add_argument("--seed", type=int, default=0, help="sampling models: same seed, same samples")
    enhance.add_argument("--max-pixels", type=float, default=imageio.DEFAULT_MAX_PIXELS / 1e6,
                         help="refuse inputs above this many megapixels (default %(default)g)")

    models = sub.add_parser("models", help="list methods and models; add or remove your own (ncnn, PyTorch) models")
    models.add_argument("action", nargs="?", choices=["list", "add", "remove"], default="list")
    models.add_argument("items", nargs="*", metavar="FILE|NAME",
                        help="add: ncnn .param files (each with its .bin beside it) or PyTorch .safetensors/.pth "
                             "files (needs spandrel); remove: model names")

    evaluate = sub.add_parser("eval", help="benchmark a method: Y-PSNR/SSIM on a dataset folder")
    evaluate.add_argument("--model", "-m", required=True)
    evaluate.add_argument("--dataset", required=True, type=Path, help="folder of ground-truth images")
    evaluate.add_argument("--scale", type=int, default=4)
    evaluate.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    evaluate.add_argument("--precision", choices=PRECISIONS, default="exact",
                          help="exact (default): float32, the numbers model cards record; auto: as enhance")
    evaluate.add_argument("--strength", type=_fraction, default=None, help="detail strength, as for enhance")
    evaluate.add_argument("--threads", type=int, default=0,
                          help="CPU threads for learned models (default: the physical cores)")
    evaluate.add_argument("--degradation", choices=DEGRADATIONS, default="clean",
                          help="clean: the literature's bicubic reduction; real: blur, reduction, sensor noise and "
                               "JPEG 60-85 with fixed seeds (how photos really come)")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")

    sub.add_parser("train", help="train a model (see `srdesk-cli train sr --help`)", add_help=False)
    return parser


def cmd_enhance(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from srdesk.models import registry

    model = args.model or registry.default_model()
    registry.get(model)  # unknown names fail before any work
    imageio.keep_freed_image_memory()
    sources = batch.collect_inputs(args.inputs, recursive=args.recursive)
    if not sources:
        print("srdesk-cli: no images found in the given inputs", file=sys.stderr)
        return EXIT_USAGE
    options = batch.BatchOptions.of(
        args.output, model=model, scale=args.scale, fmt=args.format, quality=args.quality,
        pattern=args.pattern, tile=args.tile, overlap=args.overlap, device=args.device,
        precision=args.precision, existing=args.existing, max_pixels=int(args.max_pixels * 1e6),
        samples=args.samples, temperature=args.temperature, seed=args.seed, threads=args.threads,
        strength=args.strength,
    )
    if registry.get(model).sampler:
        warn_sampling_time(model, args.device, sources, args.samples, args.threads)
    bar = tqdm(total=len(sources), unit="photo", file=sys.stderr, dynamic_ncols=True)

    def on_update(item: batch.BatchItem) -> None:
        if item.status == "running":
            bar.set_description(item.source.name[:40])
            return
        bar.update(1)
        if item.status == "done":
            bar.write(f"{item.source} -> {item.output}" + (f" ({item.message})" if item.message else ""))
        elif item.status == "failed":
            named = item.message.startswith(item.source.name)  # load errors name the file themselves
            bar.write(f"FAILED {item.message if named else f'{item.source.name}: {item.message}'}", file=sys.stderr)

    def on_progress(item: batch.BatchItem, done: int, total: int) -> None:
        bar.set_postfix_str(f"tile {done}/{total}")

    try:
        report = batch.run_batch(sources, options, on_update=on_update, progress=on_progress)
    except KeyboardInterrupt:
        bar.close()
        print("srdesk-cli: interrupted; files already finished are complete, nothing partial was left",
              file=sys.stderr)
        return EXIT_CANCELLED
    bar.close()
    print(f"{report.summary()}; output folder: {options.out_dir}", file=sys.stderr)
    return EXIT_FAILURES if report.count("failed") else EXIT_OK


def warn_sampling_time(model: str, device: str, sources: list[Path], samples: int, threads: int = 0) -> None:
    """Pixel-by-pixel sampling is slow: say how slow before starting (timed with the threads the run will use)."""
    from PIL import Image

    from srdesk.core.devices import apply_threads
    from srdesk.engine import pipeline

    upscaler = pipeline.get_upscaler(model, device)
    assert isinstance(upscaler, pipeline.SamplingUpscaler)
    apply_threads(threads or upscaler.default_threads)
    seconds = 0.0
    for path in sources:
        try:
            with Image.open(path) as im:
                width, height = im.size
        except OSError:
            continue
        seconds += upscaler.estimate_seconds(height, width, samples)
    where = upscaler.device.type.upper()
    print(f"srdesk-cli: {model} draws every output pixel in turn; {len(sources)} photo(s) x {samples} sample(s) "
          f"will take about {seconds / 60:.1f} min on the {where}", file=sys.stderr)


def models_add(folder: Path, files: list[str]) -> int:
    """Copy ncnn .param/.bin pairs and PyTorch files into the models folder (never over another model's file)."""
    from srdesk.engine import user_models

    if not files:
        print("srdesk-cli: models add needs one or more model files (.param, .safetensors, .pth)", file=sys.stderr)
        return EXIT_USAGE
    failed = 0
    for raw in files:
        try:
            name = user_models.add(folder, Path(raw))
        except SrdeskError as exc:
            print(f"srdesk-cli: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"added {name} ({folder / Path(raw).name}); measure it with srdesk-cli eval -m {name} ...")
    return EXIT_FAILURES if failed else EXIT_OK


def models_remove(folder: Path, names: list[str]) -> int:
    from srdesk.engine import user_models

    failed = 0
    for name in names:
        try:
            user_models.remove(folder, name)
            print(f"removed {name}")
        except SrdeskError as exc:
            print(f"srdesk-cli: {exc}", file=sys.stderr)
            failed += 1
    return EXIT_FAILURES if failed else EXIT_OK


def cmd_models(args: argparse.Namespace, folder: Path) -> int:
    from srdesk.models import registry

    if args.action == "add":
        return models_add(folder, args.items)
    if args.action == "remove":
        return models_remove(folder, args.items)
    rows = []
    for e in registry.entries():
        scale = f"x{e.scale}" if e.scale else "any"
        state = "" if e.installed() else " [not installed]"
        quality = e.quality()
        rows.append((e.name, e.kind, scale, e.description + state, quality))
    width = max(len(r[0]) for r in rows)
    for name, kind, scale, desc, quality in rows:
        print(f"{name:<{width}}  {kind:<9}  {scale:<4}  {desc}" + (f"  [{quality}]" if quality else ""))
    return EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    from srdesk.engine.evaluation import evaluate_model
    from srdesk.models import registry

    registry.get(args.model)
    if not args.dataset.is_dir():
        print(f"srdesk-cli: dataset folder {args.dataset} not found", file=sys.stderr)
        return EXIT_USAGE
    result = evaluate_model(args.model, args.dataset, args.scale, args.degradation, args.device, args.precision,
                            strength=args.strength, threads=args.threads)
    entry = registry.get(args.model)
    if entry.path is not None:  # an added model: keep the measurement in its card in the models folder
        from srdesk.engine import user_models

        user_models.save_measurement(Path(entry.path), result.dataset, args.degradation, args.scale,
                                     result.mean_psnr, result.mean_ssim, result.mean_detail, result.mean_niqe)
    if args.json:
        print(json.dumps({"model": args.model, **result.to_dict()}))
    else:
        for row in result.images:
            print(f"{row.name:<16} {row.psnr:7.3f} dB  SSIM {row.ssim:.4f}  detail {row.detail:.3f}  "
                  f"NIQE {row.niqe:.2f}")
        print(f"{'mean':<16} {result.mean_psnr:7.3f} dB  SSIM {result.mean_ssim:.4f}  detail {result.mean_detail:.3f}"
              f"  NIQE {result.mean_niqe:.2f}"
              f"  ({args.model}, x{args.scale}, {result.dataset}, {args.degradation} inputs, "
              f"{len(result.images)} images)")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if argv and argv[0] == "train":
        from srdesk.training.cli_train import main as train_main

        return train_main(argv[1:])
    args = build_parser().parse_args(argv)
    from srdesk.core.resources import user_models_dir
    from srdesk.models import registry

    models_folder = args.models_dir or user_models_dir()
    registry.add_user_models(models_folder)
    try:
        if args.command == "enhance":
            return cmd_enhance(args)
        if args.command == "models":
            return cmd_models(args, models_folder)
        if args.command == "eval":
            return cmd_eval(args)
    except SrdeskError as exc:
        print(f"srdesk-cli: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
