"""Turning pyrealsense2 frames and stream profiles into numpy arrays and :class:`Intrinsics`.

Shared by the live camera (:mod:`capture.realsense`) and the recording player
(:mod:`capture.realsense_file`). These helpers only call methods on the objects they are
given (``get_data``, ``get_intrinsics``, ``format`` ...), so they never import the SDK.

Every array returned is a copy: the SDK recycles a frame's buffer once the frame is released.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from capture.base import CaptureError
from models.camera import Intrinsics

# Colour layouts a recording may hold (the live source always asks for rgb8), by format name.
_RGB_CONVERSIONS = {
    "rgb8": None,
    "bgr8": cv2.COLOR_BGR2RGB,
    "rgba8": cv2.COLOR_RGBA2RGB,
    "bgra8": cv2.COLOR_BGRA2RGB,
    "yuyv": cv2.COLOR_YUV2RGB_YUYV,
    "uyvy": cv2.COLOR_YUV2RGB_UYVY,
}


def format_name(fmt: Any) -> str:
    """``rs.format.rgb8`` -> ``"rgb8"`` (pybind11 enums and Python enums both have ``name``)."""
    return str(getattr(fmt, "name", fmt)).rsplit(".", 1)[-1].lower()


def intrinsics_from_profile(profile: Any) -> Intrinsics:
    """Pinhole intrinsics of a video stream profile (``fx``, ``fy``, ``ppx``, ``ppy``, size).

    librealsense, like OpenCV, puts pixel centres at integer coordinates, so ``ppx``/``ppy``
    are used as they are. Lens distortion coefficients are ignored (they are zero or tiny on
    the colour stream of D400 cameras).
    """
    raw = profile.as_video_stream_profile().get_intrinsics()
    try:
        return Intrinsics(fx=float(raw.fx), fy=float(raw.fy), cx=float(raw.ppx), cy=float(raw.ppy),
                          width=int(raw.width), height=int(raw.height))
    except ValueError as exc:
        raise CaptureError(f"the RealSense stream has unusable intrinsics: {exc}") from None


def depth_in_metres(frame: Any, depth_scale: float) -> np.ndarray:
    """A z16 depth frame -> (H, W) float32 metres (a fresh array); 0 stays 0 (no depth)."""
    fmt = format_name(frame.profile.format())
    if fmt != "z16":
        raise CaptureError(f"RealSense depth in format {fmt!r} is not supported (expected z16)")
    raw = np.asanyarray(frame.get_data())
    if raw.ndim != 2 or raw.dtype != np.uint16:
        raise CaptureError(f"RealSense depth frame has shape {raw.shape} {raw.dtype}, expected (H, W) uint16")
    depth = raw.astype(np.float32)
    depth *= np.float32(depth_scale)
    return depth


def rgb_image(frame: Any) -> np.ndarray:
    """A colour frame -> (H, W, 3) uint8 in RGB order (a fresh, contiguous array)."""
    fmt = format_name(frame.profile.format())
    if fmt not in _RGB_CONVERSIONS:
        supported = ", ".join(_RGB_CONVERSIONS)
        raise CaptureError(f"RealSense colour in format {fmt!r} is not supported (expected one of {supported})")
    data = np.asanyarray(frame.get_data())
    if data.dtype != np.uint8 or data.ndim not in (2, 3) or data.size == 0:
        raise CaptureError(f"RealSense colour frame has shape {data.shape} {data.dtype}")
    code = _RGB_CONVERSIONS[fmt]
    if code is None:
        if data.ndim != 3 or data.shape[2] != 3:
            raise CaptureError(f"RealSense rgb8 frame has shape {data.shape}, expected (H, W, 3)")
        return np.array(data, dtype=np.uint8, copy=True, order="C")
    if fmt in ("yuyv", "uyvy") and data.ndim == 2:  # some SDK builds hand these out as (H, 2W) bytes
        data = data.reshape(data.shape[0], -1, 2)
    return np.ascontiguousarray(cv2.cvtColor(np.ascontiguousarray(data), code))
