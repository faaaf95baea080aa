"""Measuring a registry model with the benchmark protocol (what model cards and `srdesk-cli eval` record)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from srdesk.core.evaluate import EvalResult, benchmark_files, evaluate
from srdesk.core.request import EnhanceRequest
from srdesk.engine import pipeline
from srdesk.models import registry

DATASETS = ("Set5", "Set14", "BSD68")


def evaluate_model(model: str, folder: Path, scale: int = 4, degradation: str = "clean", device: str = "auto",
                   precision: str = "exact", strength: float | None = None, threads: int = 0) -> EvalResult:
    """Y-PSNR/SSIM/detail ratio of ``model`` on one benchmark folder, through the engine's single path."""
    request = EnhanceRequest(model=model, scale=scale, device=device, precision=precision, strength=strength,
                             threads=threads)
    # an automatic method chooses per image (pipeline.run resolves it); any other model is loaded once
    automatic = registry.get(model).automatic
    upscaler = None if automatic else pipeline.get_upscaler(model, device, precision, strength)

    def upscale(lr: np.ndarray, s: int) -> np.ndarray:
        return pipeline.run(request.with_(scale=s), lr, upscaler=upscaler)[0].pixels

    return evaluate(upscale, benchmark_files(folder), scale, dataset=folder.name, degradation=degradation)


def measure(model: str, benchmarks: Path, scale: int = 4, degradation: str = "clean",
            datasets: tuple[str, ...] = DATASETS) -> dict[str, dict[str, float]]:
    """{dataset: {psnr, ssim, detail}} over the benchmark folders present under ``benchmarks``."""
    results = {}
    for dataset in datasets:
        folder = benchmarks / dataset
        if folder.is_dir():
            r = evaluate_model(model, folder, scale, degradation)
            results[dataset] = {"psnr": round(r.mean_psnr, 3), "ssim": round(r.mean_ssim, 4),
                                "detail": round(r.mean_detail, 3), "niqe": round(r.mean_niqe, 3)}
    return results
