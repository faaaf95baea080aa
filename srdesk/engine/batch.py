"""Files and folders in, enlarged photos out: one file at a time, never stopping on a bad one.

Each file goes through exactly the single-photo path (imageio.load ->
engine.run -> imageio.save). Output names follow a pattern and never replace
an original; when the output exists already, ``existing`` says what to do:
``rename`` (default: the writer picks ``-2``, ``-3``...), ``skip`` or
``overwrite``. A failure is recorded with its reason and the batch moves on;
a cancel stops between tiles and writes nothing partial.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from srdesk.core import imageio, resample
from srdesk.core.errors import Cancelled, InvalidParameter, SrdeskError
from srdesk.core.request import CancelToken, EnhanceRequest, ProgressFn
from srdesk.engine import pipeline

log = logging.getLogger(__name__)

DEFAULT_PATTERN = "{stem}_x{scale}_{model}.{ext}"


EXISTING_CHOICES = ("rename", "skip", "overwrite")


@dataclass
class BatchOptions:
    """What to compute (one :class:`EnhanceRequest` for every file) and how to write it."""

    out_dir: Path
    request: EnhanceRequest = field(default_factory=EnhanceRequest)
    fmt: str | None = None  # None: keep the input's format where srdesk can write it, else PNG
    quality: int = 95
    pattern: str = DEFAULT_PATTERN
    existing: str = "rename"  # an output of that name exists: rename | skip | overwrite
    max_pixels: int | None = imageio.DEFAULT_MAX_PIXELS

    def __post_init__(self) -> None:
        if self.existing not in EXISTING_CHOICES:
            raise InvalidParameter(f"unknown choice for existing outputs {self.existing!r}; "
                                   f"use one of {', '.join(EXISTING_CHOICES)}")

    @classmethod
    def of(cls, out_dir: Path, **values: Any) -> BatchOptions:
        """Options from flat keywords: request fields (model, scale, tile...) and output fields together."""
        request_names = {f.name for f in fields(EnhanceRequest)}
        request = EnhanceRequest(**{k: v for k, v in values.items() if k in request_names})
        return cls(out_dir=Path(out_dir), request=request, **{k: v for k, v in values.items()
                                                               if k not in request_names})


@dataclass
class BatchItem:
    source: Path
    status: str = "waiting"  # waiting | running | done | failed | skipped
    output: Path | None = None
    message: str = ""
    outputs: list[Path] = field(default_factory=list)  # every file written (one per sample)


@dataclass
class BatchReport:
    items: list[BatchItem] = field(default_factory=list)
    cancelled: bool = False

    def count(self, status: str) -> int:
        return sum(1 for item in self.items if item.status == status)

    def summary(self) -> str:
        text = f"{self.count('done')} enlarged, {self.count('failed')} failed, {self.count('skipped')} skipped"
        return text + (" (cancelled)" if self.cancelled else "")


def is_image_name(path: Path) -> bool:
    return path.suffix.lower() in imageio.READABLE_SUFFIXES and not path.name.startswith(".")


def collect_inputs(paths: Iterable[str | os.PathLike[str]], recursive: bool = False) -> list[Path]:
    """Files as given (whatever their suffix: the loader judges them) plus images found in folders."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            walker = path.rglob("*") if recursive else path.iterdir()
            found.extend(sorted(p for p in walker if p.is_file() and is_image_name(p)))
        else:
            found.append(path)
    unique: dict[str, Path] = {}
    for p in found:
        unique.setdefault(os.path.abspath(p), p)
    return list(unique.values())


def format_scale(scale: float) -> str:
    return str(int(scale)) if float(scale).is_integer() else f"{scale:g}"


def output_path(source: Path, options: BatchOptions, source_format: str | None = None) -> Path:
    if options.fmt:
        ext = imageio.output_format(Path("x"), options.fmt)[1]
    else:
        suffix = source.suffix.lower().lstrip(".")
        ext = imageio.FORMATS[suffix][1] if suffix in imageio.FORMATS else "png"
    try:
        name = options.pattern.format(stem=source.stem, scale=format_scale(options.request.scale),
                                      model=options.request.model, ext=ext)
    except (KeyError, IndexError, ValueError) as exc:
        raise InvalidParameter(f"bad naming pattern {options.pattern!r}: use {{stem}} {{scale}} {{model}} {{ext}}") \
            from exc
    if os.sep in name or (os.altsep and os.altsep in name):
        raise InvalidParameter(f"the naming pattern must give a file name, not a path: {name!r}")
    return options.out_dir / name


class Skipped(Exception):
    """The output exists and the options say to skip such files."""


def process_file(
    source: Path,
    options: BatchOptions,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> tuple[list[Path], list[str]]:
    """Enlarge one file; returns (written paths, notes for the user).

    Sampling models write one file per sample, ``_s1``, ``_s2``... before the extension.
    All results are computed before anything is written, so a cancel leaves no file.
    """
    target = output_path(source, options)
    if options.existing == "skip" and target.exists():
        raise Skipped(f"{target.name} exists already")
    image = imageio.load(source, max_pixels=options.max_pixels, levels=True)
    fmt = options.fmt or target.suffix.lstrip(".")
    out_h, out_w = resample.output_size(image.pixels.shape[:2], options.request.scale)
    imageio.check_output_size(imageio.output_format(target, fmt)[0], out_w, out_h)  # before minutes of work
    results = pipeline.run(options.request.with_(integer_output=True), image, progress, cancel)
    written = []
    for k, result in enumerate(results):
        name = target if len(results) == 1 else target.with_name(f"{target.stem}_s{k + 1}{target.suffix}")
        written.append(imageio.save(result, name, fmt=fmt, quality=options.quality,
                                    overwrite=options.existing == "overwrite", protect=source))
    return written, results[0].meta.notes


def run_batch(
    sources: Iterable[Path],
    options: BatchOptions,
    on_update: Callable[[BatchItem], None] | None = None,
    progress: Callable[[BatchItem, int, int], None] | None = None,
    cancel: CancelToken | None = None,
    pause: CancelToken | None = None,
) -> BatchReport:
    """Process every source in turn; ``pause`` (while set) holds the queue between files."""
    options.out_dir = Path(options.out_dir)
    if not options.out_dir.exists():
        try:
            options.out_dir.mkdir(parents=True)
        except OSError as exc:
            raise InvalidParameter(f"cannot create the output folder {options.out_dir}: {exc.strerror}") from exc
    for stale in imageio.clean_stale_temporaries(options.out_dir):
        log.info("removed %s, left by an interrupted run", stale)
    report = BatchReport(items=[BatchItem(Path(s)) for s in sources])
    for item in report.items:
        while pause is not None and pause.is_set() and not (cancel is not None and cancel.is_set()):
            time.sleep(0.05)
        if cancel is not None and cancel.is_set():
            report.cancelled = True
            break
        item.status = "running"
        if on_update:
            on_update(item)

        def tile_progress(done: int, total: int, item: BatchItem = item) -> None:
            if progress:
                progress(item, done, total)

        try:
            item.outputs, notes = process_file(item.source, options, tile_progress, cancel)
            item.output = item.outputs[0]
            item.status = "done"
            item.message = "; ".join(notes)
        except Skipped as exc:
            item.status = "skipped"
            item.message = str(exc)
        except Cancelled:
            item.status = "waiting"
            item.message = "cancelled"
            report.cancelled = True
        except SrdeskError as exc:
            item.status = "failed"
            item.message = str(exc)
        except MemoryError:
            item.status = "failed"
            item.message = f"{item.source.name}: not enough memory; try a smaller tile size"
        except Exception as exc:  # a bug: keep going, but keep the traceback in the log
            log.exception("unexpected error on %s", item.source)
            item.status = "failed"
            item.message = f"{item.source.name}: unexpected error ({exc.__class__.__name__}: {exc})"
        if on_update:
            on_update(item)
        if report.cancelled:
            break
    return report
