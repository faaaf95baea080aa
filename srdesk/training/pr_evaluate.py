"""Evaluation of a Pixel Recursive faces model against bicubic and an L2-regression baseline.

What the paper reports, on the identity-disjoint test split (8x8 -> 32x32):

* negative log-likelihood in bits per sub-pixel: the model (conditioning +
  prior), its conditioning network alone, and bicubic / regression turned
  into distributions (a discretised Laplace around their estimate, scale
  fitted on training faces; the best that estimate can do as a density);
* pSNR (RGB) and SSIM (Y) against the ground truth, for samples at several
  temperatures, bicubic and regression;
* consistency: the sample reduced back to 8x8 with the same bicubic vs the
  input, in dB (a faithful super-resolution reproduces its input);
* diversity: mean pairwise RMS difference (8-bit levels) between samples of
  the same input;
* optionally a figure: input / bicubic / regression / samples / truth.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from srdesk.core.metrics import ssim_y
from srdesk.core.resample import matlab_bicubic
from srdesk.models.pixel_recursive import LEVELS, PixelRecursiveSR, draw_uniforms, sample_fast
from srdesk.models.sampling import enforce_consistency
from srdesk.training.pr_trainer import RegressionNet, load_faces

TEMPERATURES = (1.0, 0.9, 0.8)


def laplace_bits(estimate: torch.Tensor, target: torch.Tensor, scale: float) -> float:
    """Bits per sub-pixel of ``target`` (levels) under a discretised Laplace around ``estimate`` (levels).

    p(k) = r^|k - mu| / Z over k = 0..255 with r = exp(-1/scale); Z is two
    geometric series either side of mu, so no 256-way table is built.
    """
    mu = estimate.double().clamp(0, LEVELS - 1)
    x = target.double()
    r = math.exp(-1.0 / scale)
    below = torch.floor(mu)  # k = 0..m lie at distances f, f + 1, ..., f + m
    f = mu - below
    left = r**f * (1 - r ** (below + 1)) / (1 - r)
    right = r ** (1 - f) * (1 - r ** (LEVELS - 1 - below)) / (1 - r)  # k = m + 1..255
    log_p = -(x - mu).abs() / scale - torch.log(left + right)
    return float(-log_p.mean() / math.log(2))


def fit_laplace_scale(estimate: torch.Tensor, target: torch.Tensor) -> float:
    """The Laplace scale (in levels) that gives ``estimate`` its lowest NLL on these faces."""
    candidates = np.geomspace(0.5, 64, 36)
    bits = [laplace_bits(estimate, target, float(b)) for b in candidates]
    return float(candidates[int(np.argmin(bits))])


def model_bits(model: PixelRecursiveSR, lr: torch.Tensor, hr: torch.Tensor) -> tuple[float, float]:
    """(model, conditioning network alone) NLL in bits per sub-pixel, teacher-forced."""
    total, cond_total = 0.0, 0.0
    with torch.inference_mode():
        for start in range(0, len(hr), 50):
            out = model(lr[start : start + 50], hr[start : start + 50])
            target = hr[start : start + 50]
            total += F.cross_entropy(out.combined.transpose(1, 2), target, reduction="sum").item()
            cond_total += F.cross_entropy(out.conditioning.transpose(1, 2), target, reduction="sum").item()
    n = hr.numel() * math.log(2)
    return total / n, cond_total / n


def bicubic_levels(lr: torch.Tensor, size: int) -> torch.Tensor:
    """MATLAB-bicubic enlargement of LR (N, 3, h, w) in [0, 1] to levels (N, 3, size, size), unrounded."""
    out = np.stack([matlab_bicubic(im.permute(1, 2, 0).double().numpy(), (size, size)) for im in lr])
    return torch.from_numpy(np.clip(out, 0, 1) * 255).permute(0, 3, 1, 2).float()


def regression_levels(net: RegressionNet, lr: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return (net(lr).clamp(0, 1) * 255).float()


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * math.log10(255**2 / max(mse, 1e-10))


def _hwc(levels: torch.Tensor) -> np.ndarray:
    return levels.round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()


def image_scores(estimates: torch.Tensor, hr: torch.Tensor, lr: torch.Tensor) -> dict[str, float]:
    """Mean pSNR (RGB), SSIM (Y) and consistency (dB) of estimates (N, 3, H, W) in levels."""
    psnrs, ssims, consistency = [], [], []
    small = lr.shape[-1]
    for est, truth, low in zip(estimates, hr, lr, strict=True):
        e, t = _hwc(est), _hwc(truth.float())
        psnrs.append(_psnr(e, t))
        ssims.append(ssim_y(e, t))
        reduced = np.clip(np.round(matlab_bicubic(e.astype(np.float64) / 255, (small, small)) * 255), 0, 255)
        consistency.append(_psnr(reduced, np.round(low.permute(1, 2, 0).numpy() * 255)))
    return {"psnr": float(np.mean(psnrs)), "ssim": float(np.mean(ssims)), "consistency_db": float(np.mean(consistency))}


def diversity(samples: torch.Tensor) -> float:
    """Mean pairwise RMS difference (levels) between the samples of each input; samples (S, N, 3, H, W)."""
    values = [torch.sqrt(torch.mean((samples[a].float() - samples[b].float()) ** 2, dim=(1, 2, 3))).mean().item()
              for a, b in itertools.combinations(range(len(samples)), 2)]
    return float(np.mean(values)) if values else 0.0


def samples_summary(drawn: torch.Tensor, hr: torch.Tensor, lr: torch.Tensor) -> dict[str, float]:
    """Mean pSNR/SSIM/consistency over the samples (S, N, 3, H, W) in levels, and their diversity."""
    scores = [image_scores(drawn[s].float(), hr, lr) for s in range(len(drawn))]
    return {**{key: float(np.mean([s[key] for s in scores])) for key in scores[0]},
            "diversity_rms_levels": diversity(drawn)}


@dataclass
class FacesEvaluation:
    metrics: dict[str, Any]
    figure_rows: list[list[np.ndarray]]


def evaluate_faces(
    model: PixelRecursiveSR,
    faces_dir: Path,
    regression: RegressionNet | None = None,
    sample_faces: int = 200,
    samples: int = 3,
    temperatures: tuple[float, ...] = TEMPERATURES,
    seed: int = 0,
    nll_faces: int | None = None,
    figure_faces: int = 6,
    hr_size: int = 32,
    progress: Any = None,
) -> FacesEvaluation:
    """Every number of the module docstring, on the test split (``nll_faces`` limits it, None = all 600)."""
    model = model.eval()
    lr, hr = load_faces(faces_dir, "test", hr_size, model.scale, limit=nll_faces)
    fit_lr, fit_hr = load_faces(faces_dir, "train", hr_size, model.scale, limit=500)
    bits, cond_bits = model_bits(model, lr, hr)
    metrics: dict[str, Any] = {
        "test_faces": len(hr),
        "nll_bits_per_subpixel": {"pixel_recursive": round(bits, 4), "conditioning_alone": round(cond_bits, 4)},
    }
    estimates = {"bicubic": (bicubic_levels(lr, hr_size), bicubic_levels(fit_lr, hr_size))}
    if regression is not None:
        regression = regression.eval()
        estimates["regression"] = (regression_levels(regression, lr), regression_levels(regression, fit_lr))
    for name, (test_est, fit_est) in estimates.items():
        scale = fit_laplace_scale(fit_est, fit_hr)
        metrics["nll_bits_per_subpixel"][name] = round(laplace_bits(test_est, hr, scale), 4)
        metrics["nll_bits_per_subpixel"][f"{name}_laplace_scale"] = round(scale, 3)

    k = min(sample_faces, len(hr))
    lr_s, hr_s = lr[:k], hr[:k]
    rows: dict[str, dict[str, float]] = {}
    for name, (test_est, _) in estimates.items():
        rows[name] = {key: round(v, 4) for key, v in image_scores(test_est[:k], hr_s, lr_s).items()}
    drawn: dict[float, torch.Tensor] = {}
    for t_index, tau in enumerate(temperatures):
        batch = lr_s.repeat(samples, 1, 1, 1)  # sample-major: rows [s * k + face]
        uniforms = draw_uniforms((len(batch), 3, hr_size, hr_size), seed=seed + 1000 * t_index)
        with torch.inference_mode():
            levels = sample_fast(model, batch, tau, uniforms)
        per_sample = levels.view(samples, k, 3, hr_size, hr_size)
        drawn[tau] = per_sample
        # what srdesk shows: each draw made consistent with its input (srdesk.models.sampling)
        projected = torch.from_numpy(enforce_consistency(levels.numpy().astype(np.float64),
                                                         np.rint(batch.numpy() * 255))).view_as(per_sample)
        for key, kind in ((f"samples_tau_{tau:g}", per_sample), (f"samples_tau_{tau:g}_consistent", projected)):
            summary = samples_summary(kind, hr_s, lr_s)
            rows[key] = {name: round(value, 3 if name == "diversity_rms_levels" else 4)
                         for name, value in summary.items()}
        if progress:
            progress(f"tau {tau:g}: {rows[f'samples_tau_{tau:g}']}")
    metrics["sample_faces"] = k
    metrics["samples_per_face"] = samples
    metrics["images"] = rows
    metrics["protocol"] = ("identity-disjoint test split of ../shared/data/faces; HR 64->32 and LR 32->8 by MATLAB "
                           "bicubic; pSNR on RGB, SSIM on Y (BT.601), consistency = PSNR of the result reduced to "
                           "8x8 vs the input; NLL of bicubic/regression = discretised Laplace around the estimate, "
                           "scale fitted on 500 training faces")

    figure: list[list[np.ndarray]] = []
    tau = temperatures[-1]
    for face in range(min(figure_faces, k)):
        low = _hwc(lr_s[face] * 255)
        row = [np.kron(low, np.ones((4, 4, 1), dtype=np.uint8)), _hwc(estimates["bicubic"][0][face])]
        if "regression" in estimates:
            row.append(_hwc(estimates["regression"][0][face]))
        row += [_hwc(drawn[tau][s, face].float()) for s in range(min(3, samples))]
        row.append(_hwc(hr_s[face].float()))
        figure.append(row)
    return FacesEvaluation(metrics, figure)


def save_figure(rows: list[list[np.ndarray]], path: Path, zoom: int = 3, gap: int = 3) -> None:
    from PIL import Image

    size = rows[0][0].shape[0] * zoom
    cols = len(rows[0])
    canvas = np.full(((size + gap) * len(rows) - gap, (size + gap) * cols - gap, 3), 255, dtype=np.uint8)
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            y, x = r * (size + gap), c * (size + gap)
            canvas[y : y + size, x : x + size] = np.kron(image, np.ones((zoom, zoom, 1), dtype=np.uint8))
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(canvas).save(path)
