"""What the window shows, without Qt: the open photo, its results, and which result is picked.

Every result remembers the photo (by the session's generation number) and
the :class:`EnhanceRequest` it was made from. Opening a photo starts a new
generation and drops every result of the previous one, and a result that
arrives for an older generation (a job that finished after another photo was
opened) is refused, so a result can never be shown or saved under another
photo's name. The window observes the session through ``listeners``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from srdesk.core.imageio import LoadedImage
from srdesk.core.request import EnhanceRequest
from srdesk.engine.regions import Box


@dataclass(frozen=True)
class Photo:
    path: Path
    image: LoadedImage
    generation: int


@dataclass
class Results:
    """The finished results of one Enhance of one photo."""

    request: EnhanceRequest
    generation: int
    images: list[LoadedImage]
    views: list[Any] = field(default_factory=list)  # what the window made of them (e.g. image pyramids)
    before_view: Any = None
    selected: int = 0

    @property
    def current(self) -> LoadedImage:
        return self.images[self.selected]


class Session:
    def __init__(self) -> None:
        self.photo: Photo | None = None
        self.results: Results | None = None
        self.face_box: Box | None = None  # a marked small face in the photo's pixels (for sampling models)
        self._generation = 0
        self.listeners: list[Callable[[str], None]] = []  # called with "photo", "results", "selection", "box"

    def _emit(self, what: str) -> None:
        for listener in list(self.listeners):
            listener(what)

    @property
    def generation(self) -> int:
        return self._generation

    def open(self, path: Path, image: LoadedImage) -> Photo:
        """A new photo: every result of the previous one is gone."""
        self._generation += 1
        self.photo = Photo(Path(path).resolve(), image, self._generation)
        self.results = None
        self.face_box = None
        self._emit("photo")
        return self.photo

    def accept(self, generation: int, request: EnhanceRequest, images: list[LoadedImage],
               views: list[Any] | None = None, before_view: Any = None) -> bool:
        """Results of a finished Enhance; refused (False) when they belong to a photo no longer open."""
        if self.photo is None or generation != self.photo.generation or not images:
            return False
        self.results = Results(request, generation, list(images), list(views or []), before_view)
        self._emit("results")
        return True

    def mark_face(self, box: Box | None) -> Box | None:
        """Remember a box in the photo's pixels (clipped to it); None or an empty box clears it."""
        if self.photo is None or box is None:
            self.face_box = None
        else:
            height, width = self.photo.image.pixels.shape[:2]
            clipped = Box(max(0, box.left), max(0, box.top), min(width, box.right), min(height, box.bottom))
            self.face_box = clipped if clipped.width > 0 and clipped.height > 0 else None
        self._emit("box")
        return self.face_box

    def select(self, index: int) -> bool:
        if self.results is None or not 0 <= index < len(self.results.images):
            return False
        self.results.selected = index
        self._emit("selection")
        return True

    def saveable(self) -> LoadedImage | None:
        """The result Save writes: the picked result of the photo on screen, or None."""
        if self.photo is None or self.results is None or self.results.generation != self.photo.generation:
            return None
        return self.results.current
