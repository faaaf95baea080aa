"""Which compute device runs a learned model: CUDA, then Apple MPS, then CPU.

torch is imported lazily so that classical-only use (and the GUI's start-up)
does not pay for it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from srdesk.core.errors import DeviceUnavailable, InvalidParameter

if TYPE_CHECKING:
    import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class DeviceInfo:
    name: str  # "cuda", "mps", "cpu"
    description: str  # for people: "NVIDIA GeForce RTX 3060 (12.0 GB)"
    free_bytes: int | None  # free memory the device reports, None if unknown


def available_devices() -> list[DeviceInfo]:
    import torch

    found = []
    if torch.cuda.is_available():
        free, total = torch.cuda.mem_get_info()
        found.append(DeviceInfo("cuda", f"{torch.cuda.get_device_name()} ({total / 2**30:.1f} GB)", int(free)))
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        found.append(DeviceInfo("mps", "Apple GPU (Metal)", None))
    found.append(DeviceInfo("cpu", f"CPU ({torch.get_num_threads()} threads)", free_ram()))
    return found


def free_ram() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def resolve_device(name: str = "auto") -> torch.device:
    import torch

    if name not in DEVICE_CHOICES:
        raise InvalidParameter(f"unknown device {name!r}; use one of {', '.join(DEVICE_CHOICES)}")
    if name == "auto":
        name = available_devices()[0].name
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailable("no CUDA GPU was found; use --device cpu (or auto)")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise DeviceUnavailable("Apple MPS is not available on this machine; use --device cpu (or auto)")
    return torch.device(name)


def free_memory(device: torch.device) -> int | None:
    import torch

    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    if device.type == "cpu":
        return free_ram()
    return None


def physical_cores() -> int:
    """CPU cores this process may use, counting each physical core once (SMT siblings share one)."""
    import os

    try:
        allowed = sorted(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return max(1, (os.cpu_count() or 2) // 2)
    cores = set()
    for cpu in allowed:
        try:
            with open(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list") as f:
                cores.add(f.read().strip())
        except OSError:
            cores.add(str(cpu))
    return max(1, len(cores))


_threads_applied: int | None = None


def apply_threads(threads: int = 0) -> int:
    """Set torch's intra-op threads: ``threads``, or (0) the physical cores; never more than those.

    More threads than physical cores makes small convolution steps spin and
    wait on each other (measured: the Pixel Recursive sampler runs 5x slower
    with 2 threads on 2 busy cores than with 1). Inter-op parallelism is
    kept at 1: srdesk runs one model at a time. ``OMP_NUM_THREADS``, when set,
    stands in for ``threads=0``.
    """
    global _threads_applied
    import os

    import torch

    cores = physical_cores()
    if threads <= 0 and os.environ.get("OMP_NUM_THREADS", "").isdigit():
        threads = int(os.environ["OMP_NUM_THREADS"])  # the user's explicit choice for this process
    wanted = min(threads, cores) if threads > 0 else cores
    if wanted != _threads_applied:
        torch.set_num_threads(wanted)
        if _threads_applied is None:
            with contextlib.suppress(RuntimeError):  # only allowed before any parallel work has started
                torch.set_num_interop_threads(1)
        _threads_applied = wanted
    return wanted
