"""The single enhance path: an :class:`EnhanceRequest` and an image in, enlarged images out.

``core`` (pixels, files) <- ``models`` (networks, upscalers, registry) <- ``engine``
(this package: run, model cache, batch, evaluation, self-test) <- ``cli``, ``gui``, ``training``.
"""

from srdesk.core.request import EnhanceRequest
from srdesk.engine.pipeline import enhance, run

__all__ = ["EnhanceRequest", "enhance", "run"]
