"""The resumable training loop shared by every srdesk model.

:class:`Trainer` owns what every run needs: the step counter, the checkpoint
(every ``checkpoint_every`` steps, on Ctrl-C and at the end), the CSV log,
validation with best-model export, and exact resumption (model, optimisers,
step, RNG and data-sampler state). A concrete trainer supplies ``train_step``
(one optimisation step, returning the numbers to log), ``validate`` (returns a
score, higher is better) and the ``modules``/``optimizers`` to checkpoint.
"""

from __future__ import annotations

import csv
import json
import math
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from torch import nn

from srdesk.models.registry import cpu_has_native_bf16
from srdesk.training.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state


@dataclass
class RunConfig:
    """What every run has; model-specific trainers extend it."""

    run_dir: str = "runs/default"
    steps: int = 1000
    batch_size: int = 16
    lr: float = 2e-4
    lr_schedule: str = "cosine"  # "constant" | "cosine" | "step"
    lr_min: float = 1e-6
    lr_step_every: int = 100_000  # for "step": halve every N steps
    warmup_steps: int = 0
    schedule_start: int = 0  # the step the schedule (warm-up, cosine) counts from: a warm restart
    checkpoint_every: int = 250
    val_every: int = 250
    log_every: int = 10
    seed: int = 0
    device: str = "auto"
    amp: bool = True  # bf16 autocast on CUDA, and on CPUs with native bf16 for trainers that allow it
    threads: int = 0  # 0: torch's default
    max_minutes: float = 0.0  # stop (with a checkpoint) after this much training time in one call; 0: no limit
    extra: dict[str, Any] = field(default_factory=dict)


def learning_rate(config: RunConfig, step: int, base_lr: float | None = None) -> float:
    """Stateless schedule: the same step always gets the same rate, so resuming is exact."""
    base = config.lr if base_lr is None else base_lr
    step -= config.schedule_start
    if config.warmup_steps and step < config.warmup_steps:
        return base * (step + 1) / config.warmup_steps
    if config.lr_schedule == "constant":
        return base
    if config.lr_schedule == "step":
        return base * 0.5 ** (step // max(1, config.lr_step_every))
    if config.lr_schedule == "cosine":
        progress = min(1.0, max(0, step) / max(1, config.steps - config.schedule_start))
        return config.lr_min + 0.5 * (base - config.lr_min) * (1 + math.cos(math.pi * progress))
    raise ValueError(f"unknown lr schedule {config.lr_schedule!r}")


def validated_name(step: int) -> str:
    """Where a run that keeps its latest weights leaves the weights validated at ``step`` (run-relative)."""
    return f"{Trainer.validated_dir}/step-{step:07d}.safetensors"


def validated_steps(run_dir: Path) -> list[int]:
    """The steps whose validated weights a run folder keeps (see :func:`validated_name`), in order."""
    files = (run_dir / Trainer.validated_dir).glob("step-*.safetensors")
    return sorted(int(f.stem.removeprefix("step-")) for f in files)


def pick_training_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(name)


class Trainer:
    checkpoint_name = "checkpoint.pt"
    log_name = "log.csv"
    best_name = "best.safetensors"
    validated_dir = "validated"  # one export per validation, for runs that keep their latest weights
    # bf16 autocast on the CPU too, where oneDNN has native bf16 kernels (AMX, AVX512-BF16): a trainer
    # that has measured it on its networks turns it on (the SR convnets: 2-3x faster steps)
    cpu_bf16 = False

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.run_dir = Path(config.run_dir)
        self.device = pick_training_device(config.device)
        if config.threads:
            torch.set_num_threads(config.threads)
        torch.manual_seed(config.seed)
        self.step = 0
        self.best_score = -math.inf
        self._stop_requested = False

    # -- to be provided by a concrete trainer ---------------------------------
    def modules(self) -> dict[str, nn.Module]:
        raise NotImplementedError

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def train_step(self) -> dict[str, float]:
        raise NotImplementedError

    def validate(self) -> dict[str, float]:
        """Metrics on the fixed validation set; the key ``score`` picks the best model."""
        raise NotImplementedError

    def best_module(self) -> nn.Module:
        """The module exported to ``best.safetensors`` when validation improves."""
        raise NotImplementedError

    def keeps_validated(self) -> bool:
        """Whether every validation also leaves its weights in ``validated/step-NNNNNNN.safetensors``: for runs
        whose score is not a quality (an adversarial run keeps its latest weights), so that any validated
        step can be judged on pictures later and shipped (``train export --step``)."""
        return False

    def extra_state(self) -> dict[str, Any]:
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        pass

    # -- shared machinery -------------------------------------------------------
    def autocast(self) -> Any:
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=self.uses_bf16())

    def uses_bf16(self) -> bool:
        """Whether the training steps compute in bfloat16 (weights, optimiser and losses stay float32)."""
        if not self.config.amp:
            return False
        if self.device.type == "cuda":
            return True
        return self.device.type == "cpu" and self.cpu_bf16 and cpu_has_native_bf16()

    def base_learning_rates(self) -> dict[str, float]:
        """Peak learning rate per optimiser; the schedule scales each one."""
        return {name: self.config.lr for name in self.optimizers()}

    def set_learning_rate(self) -> float:
        bases = self.base_learning_rates()
        for name, opt in self.optimizers().items():
            for group in opt.param_groups:
                group["lr"] = learning_rate(self.config, self.step, bases[name])
        return learning_rate(self.config, self.step)

    def state_dict(self) -> dict[str, Any]:
        return {
            "config": json.dumps(asdict(self.config)),
            "step": self.step,
            "best_score": self.best_score,
            "modules": {k: m.state_dict() for k, m in self.modules().items()},
            "optimizers": {k: o.state_dict() for k, o in self.optimizers().items()},
            "rng": rng_state(),
            "extra": self.extra_state(),
        }

    def save(self) -> Path:
        path = self.run_dir / self.checkpoint_name
        save_checkpoint(path, self.state_dict())
        return path

    def resume(self, path: Path | None = None) -> bool:
        path = Path(path) if path else self.run_dir / self.checkpoint_name
        if not path.exists():
            return False
        state = load_checkpoint(path)
        for name, module in self.modules().items():
            module.load_state_dict(state["modules"][name])
        for name, opt in self.optimizers().items():
            if name in state["optimizers"]:
                opt.load_state_dict(state["optimizers"][name])
        self.step = int(state["step"])
        self.best_score = float(state["best_score"])
        set_rng_state(state["rng"])
        self.load_extra_state(state["extra"])
        return True

    def _tensorboard(self) -> Any:
        """A SummaryWriter when the tensorboard package is installed (optional), else None."""
        if not hasattr(self, "_writer"):
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._writer: Any = SummaryWriter(str(self.run_dir / "tensorboard"))
            except ImportError:
                self._writer = None
        return self._writer

    def _log(self, row: dict[str, Any]) -> None:
        writer = self._tensorboard()
        if writer is not None:
            for key, value in row.items():
                if key not in ("step", "time") and isinstance(value, float | int):
                    writer.add_scalar(key, value, row["step"])
        path = self.run_dir / self.log_name
        new = not path.exists()
        fields = ["step", "time", "lr", *sorted(k for k in row if k not in ("step", "time", "lr"))]
        if not new:
            with open(path, newline="") as f:
                header = next(csv.reader(f), fields)
            added = [k for k in fields if k not in header]
            fields = header + added
            if added:  # a new column (a validation metric, an option given on resuming): widen the header
                with open(path, newline="") as f:
                    rows = list(csv.DictReader(f))
                tmp = path.with_name(path.name + ".tmp")
                with open(tmp, "w", newline="") as f:
                    widened = csv.DictWriter(f, fieldnames=fields)
                    widened.writeheader()
                    widened.writerows(rows)
                tmp.replace(path)
        with open(path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(row)

    def export_best(self) -> None:
        self.export_weights(self.best_name, {"score": f"{self.best_score:.4f}"})

    def export_weights(self, filename: str, metadata: dict[str, str] | None = None) -> Path:
        """The shipped module's weights now, as float32 safetensors in the run folder (written atomically)."""
        module = self.best_module()
        tensors = {k: v.detach().float().cpu().contiguous() for k, v in module.state_dict().items()}
        target = self.run_dir / filename
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        save_file(tensors, str(tmp), metadata={"step": str(self.step), **(metadata or {})})
        tmp.replace(target)
        return target

    def _run_validation(self) -> dict[str, float]:
        for m in self.modules().values():
            m.eval()
        with torch.inference_mode():
            metrics = self.validate()
        for m in self.modules().values():
            m.train()
        if metrics.get("score", -math.inf) > self.best_score:
            self.best_score = metrics["score"]
            self.export_best()
        if self.keeps_validated():
            self.export_weights(validated_name(self.step))
        return metrics

    def fit(self, on_log: Callable[[dict[str, Any]], None] | None = None, until_step: int | None = None) -> None:
        """Train until ``config.steps`` (or ``until_step``, if sooner); checkpoint on Ctrl-C/SIGTERM and at the
        end."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "config.json").write_text(json.dumps(asdict(self.config), indent=2))
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

        def request_stop(signum: int, frame: Any) -> None:
            self._stop_requested = True

        for s in previous:
            signal.signal(s, request_stop)
        for m in self.modules().values():
            m.train()
        start = time.time()
        sums: dict[str, float] = {}
        count = 0
        try:
            deadline = start + self.config.max_minutes * 60 if self.config.max_minutes > 0 else math.inf
            last = self.config.steps if until_step is None else min(until_step, self.config.steps)
            while self.step < last and not self._stop_requested and time.time() < deadline:
                rate = self.set_learning_rate()
                losses = self.train_step()
                self.step += 1
                for k, v in losses.items():
                    sums[k] = sums.get(k, 0.0) + v
                count += 1
                row: dict[str, Any] | None = None
                if self.step % self.config.log_every == 0:
                    row = {k: v / count for k, v in sums.items()}
                    sums, count = {}, 0
                if self.config.val_every and self.step % self.config.val_every == 0:
                    row = row or {}
                    row.update({f"val_{k}": v for k, v in self._run_validation().items()})
                if row is not None:
                    row.update(step=self.step, time=round(time.time() - start, 1), lr=rate)
                    self._log(row)
                    if on_log:
                        on_log(row)
                if self.step % self.config.checkpoint_every == 0:
                    self.save()
        finally:
            self.save()
            for s, handler in previous.items():
                signal.signal(s, handler)


def init_matching(module: nn.Module, state: dict[str, torch.Tensor]) -> str:
    """Start from another run's weights: every tensor whose name and shape match (all of them for the same
    network; for another scale, everything but the upsampling stages that differ)."""
    own = module.state_dict()
    matched = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not matched:
        raise ValueError("the --init-from weights share no tensor with this network")
    module.load_state_dict(matched, strict=False)
    return f"initialised {len(matched)} of {len(own)} tensors from the given weights"
