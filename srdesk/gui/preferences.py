"""The settings the window remembers, declared once: key, type, default, range or choices. Qt-free.

The window binds each one to a control; reading goes through :func:`coerce`,
so a stored value of the wrong type, out of range or no longer offered falls
back to something valid instead of breaking the start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from srdesk.core.constants import DEFAULT_TEMPERATURE, GUI_SCALE_MAX, OUTPUT_FORMATS, SCALE_MIN
from srdesk.core.devices import DEVICE_CHOICES


@dataclass(frozen=True)
class Setting:
    key: str  # where it is stored (QSettings key)
    kind: type
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] | None = None  # None: any value of the type (e.g. a model name, checked elsewhere)


SETTINGS: dict[str, Setting] = {
    "model": Setting("enhance/model", str, ""),  # "": the registry's default model
    "scale": Setting("enhance/scale", float, 4.0, SCALE_MIN, GUI_SCALE_MAX),
    "strength": Setting("enhance/strength", int, 100, 0, 100),  # detail strength in percent
    "device": Setting("enhance/device", str, "auto", choices=DEVICE_CHOICES),
    "tile": Setting("enhance/tile", int, 0, 0, 4096),  # 0: automatic
    "samples": Setting("enhance/samples", int, 4, 1, 8),
    "temperature": Setting("enhance/temperature", float, DEFAULT_TEMPERATURE, 0.0, 1.0),
    "format": Setting("output/format", str, "", choices=("", *OUTPUT_FORMATS)),  # "": as the original
    "quality": Setting("output/quality", int, 95, 1, 100),
    "before": Setting("view/before", str, "nearest", choices=("nearest", "bicubic")),
}


def coerce(setting: Setting, raw: Any) -> Any:
    """A stored value made valid: converted to the setting's type, clamped to its range, one of its choices."""
    if raw is None:
        return setting.default
    try:
        value = setting.kind(float(raw)) if setting.kind is int else setting.kind(raw)
    except (TypeError, ValueError):
        return setting.default
    if setting.low is not None and value < setting.low:
        value = setting.kind(setting.low)
    if setting.high is not None and value > setting.high:
        value = setting.kind(setting.high)
    if setting.choices is not None and value not in setting.choices:
        return setting.default
    return value


def read_all(read: Callable[[str], Any]) -> dict[str, Any]:
    """Every setting's valid value, from ``read(key)`` (e.g. QSettings.value)."""
    return {name: coerce(setting, read(setting.key)) for name, setting in SETTINGS.items()}
