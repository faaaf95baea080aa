"""What one Enhance is asked to do, as one immutable value.

The CLI, batch and the GUI all build an :class:`EnhanceRequest` and hand it
to :func:`srdesk.engine.run`; upscalers read the fields that concern them
(tiles for convolutional models, samples/temperature/seed for samplers).
It lives in ``core`` because it is plain data that every layer above reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any, Protocol

from srdesk.core.constants import DEFAULT_TEMPERATURE, MAX_SAMPLES, SCALE_MAX, SCALE_MIN
from srdesk.core.devices import DEVICE_CHOICES as DEVICES
from srdesk.core.errors import Cancelled, InvalidParameter

PRECISIONS = ("auto", "exact")


@dataclass(frozen=True)
class EnhanceRequest:
    """One enlargement: which model, how much, and on what.

    - ``strength``: detail strength in [0, 1] for models that have a faithful
      and a detailed variant (network interpolation); None: the model's own.
    - ``threads``: CPU threads for learned models (0: srdesk's choice, the physical cores).
    - ``tile``/``overlap``: core tile size and context in input pixels (None: automatic).
    - ``samples``/``temperature``/``seed``/``consistent``: sampling models only; ``consistent`` makes each
      sample reduce exactly to its input (False: the sampler's raw draws, for checking the model itself).
    - ``origin``: where the image starts in the photo (input pixels; a preview's crop): models that draw
      texture by position draw there what the whole photo's run draws.
    - ``integer_output``: results as uint8 (uint16 for 16-bit sources) written tile by tile, for
      saving and showing: a quarter of float32's memory, so big photos stay within bounds. False:
      float32 in [0, 1] (measurements).
    """

    model: str = "bicubic"
    scale: float = 4.0
    strength: float | None = None
    device: str = "auto"
    precision: str = "auto"
    threads: int = 0
    tile: int | None = None
    overlap: int | None = None
    samples: int = 1
    temperature: float = DEFAULT_TEMPERATURE
    seed: int = 0
    consistent: bool = True
    integer_output: bool = False
    origin: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        if not SCALE_MIN <= float(self.scale) <= SCALE_MAX:
            raise InvalidParameter(f"scale must be between {SCALE_MIN:g} and {SCALE_MAX:g}, got {self.scale}")
        if self.strength is not None and not 0.0 <= self.strength <= 1.0:
            raise InvalidParameter(f"detail strength must be between 0 and 1, got {self.strength}")
        if self.device not in DEVICES:
            raise InvalidParameter(f"unknown device {self.device!r}; use one of {', '.join(DEVICES)}")
        if self.precision not in PRECISIONS:
            raise InvalidParameter(f"unknown precision {self.precision!r}; use one of {', '.join(PRECISIONS)}")
        if self.threads < 0:
            raise InvalidParameter(f"threads cannot be negative, got {self.threads}")
        if self.tile is not None and self.tile < 1:
            raise InvalidParameter(f"tile size must be at least 1, got {self.tile}")
        if self.overlap is not None and self.overlap < 0:
            raise InvalidParameter(f"tile overlap cannot be negative, got {self.overlap}")
        if not 1 <= self.samples <= MAX_SAMPLES:
            raise InvalidParameter(f"the number of samples must be between 1 and {MAX_SAMPLES}, got {self.samples}")
        if not 0.0 <= self.temperature <= 1.0:
            raise InvalidParameter(f"temperature must be between 0 and 1, got {self.temperature}")

    def with_(self, **changes: Any) -> EnhanceRequest:
        return replace(self, **changes)

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> EnhanceRequest:
        """A request from a wider mapping (e.g. saved settings): unknown keys are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


ProgressFn = Callable[[int, int], None]
"""progress(done, total): called after each unit of work (a tile, a row of samples)."""


class CancelToken(Protocol):
    def is_set(self) -> bool: ...


def check_cancel(cancel: CancelToken | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("cancelled; nothing was written")
