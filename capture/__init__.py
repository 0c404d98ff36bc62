"""Frame sources: every one yields :class:`models.frame.Frame` objects.

Open one from a ``--source`` string with :func:`capture.registry.open_source`.
"""

from capture.base import CaptureError, DeviceInfo, FrameSource, Mode

__all__ = ["CaptureError", "DeviceInfo", "FrameSource", "Mode"]
