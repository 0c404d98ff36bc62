"""The one error type of :mod:`models.r3d`."""

from models.errors import FaceFromXError

__all__ = ["R3DError"]


class R3DError(FaceFromXError):
    """A ``.r3d`` file (or its ZIP container) cannot be read; one line naming the file and the
    problem. :mod:`capture` re-raises it as :class:`capture.base.CaptureError`."""
