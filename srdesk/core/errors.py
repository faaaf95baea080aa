"""The typed errors a user can see. Each carries a sentence meant for people.

Front ends (CLI, GUI, batch) catch :class:`SrdeskError` and show ``str(err)``;
anything else is a bug and goes to the log with its traceback.
"""

from __future__ import annotations


class SrdeskError(Exception):
    """Base class: the message is complete and readable on its own."""


class InvalidParameter(SrdeskError, ValueError):
    """A setting is out of range (scale, tile size, unknown method...)."""


class UnsupportedImage(SrdeskError):
    """The file is not an image srdesk can read (corrupt, truncated, wrong type...)."""


class ImageTooLarge(UnsupportedImage):
    """The image has more pixels than the configured limit (decompression-bomb guard)."""


class OutputError(SrdeskError):
    """The result could not be written (permissions, disk full, would overwrite...)."""


class ModelMissing(SrdeskError):
    """A model's weights file is absent."""


class ModelCorrupt(SrdeskError):
    """A weights file does not match its model card (sha256) or cannot be parsed."""


class UnknownModel(SrdeskError, KeyError):
    """No registry entry has this name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "unknown model"


class DeviceUnavailable(SrdeskError):
    """The requested compute device (cuda, mps) is not present."""


class Cancelled(SrdeskError):
    """The user cancelled; nothing was written."""
