"""Loaded models, kept for the next photo: thread-safe, least recently used first out, within a memory budget.

The GUI and batch reuse a model across photos (loading and checking the
weights costs more than enlarging a small photo). The cache never changes a
model it holds: a run that must fall back to the CPU takes its own copy
(:meth:`srdesk.models.base.TorchUpscaler.cpu_copy`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from srdesk.models import registry
from srdesk.models.base import Upscaler

DEFAULT_BUDGET_BYTES = 1 << 30  # parameters of the models kept loaded


def model_bytes(upscaler: Any) -> int:
    """Memory held by an upscaler's parameters and buffers (0 for classical methods)."""
    module = getattr(upscaler, "module", None)
    if module is None:
        return 0
    return sum(t.numel() * t.element_size() for t in (*module.parameters(), *module.buffers()))


class ModelCache:
    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.budget_bytes = budget_bytes
        self._items: OrderedDict[tuple[str, str, str, float | None], Upscaler] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, name: str, device: str = "auto", precision: str = "auto", strength: float | None = None
            ) -> Upscaler:
        key = (name, device, precision, strength)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        upscaler = registry.load(name, device, precision, strength)  # slow: outside the lock
        with self._lock:
            self._items[key] = upscaler
            self._items.move_to_end(key)
            self._evict(keep=key)
            return self._items[key]

    def _evict(self, keep: tuple[str, str, str, float | None]) -> None:
        while self.total_bytes() > self.budget_bytes and len(self._items) > 1:
            oldest = next(k for k in self._items if k != keep)
            del self._items[oldest]

    def total_bytes(self) -> int:
        return sum(model_bytes(u) for u in self._items.values())

    def keys(self) -> list[tuple[str, str, str, float | None]]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


MODELS = ModelCache()
