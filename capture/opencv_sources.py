"""What the OpenCV colour-only sources share: the assumed camera and BGR -> RGB conversion.

The sources themselves live in :mod:`capture.webcam`, :mod:`capture.video` and
:mod:`capture.image_folder`. They offer only :attr:`Mode.RGB`; asking one for depth is the
base class's one-line :class:`CaptureError`.

Webcams, video files and plain images carry no calibration, so unless an image folder brings
an ``intrinsics.json``, these sources assume a centred pinhole camera with square pixels and a
60 degree horizontal field of view (:data:`ASSUMED_HORIZONTAL_FOV_DEG`): typical of laptop
webcams (55-78 degrees) and phone front cameras held at arm's length, and only a starting
point for metric depth, which the RGB branch never takes from the intrinsics alone.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from capture.base import Mode
from models.camera import Intrinsics

ASSUMED_HORIZONTAL_FOV_DEG = 60.0
DEFAULT_FPS = 30.0
RGB_ONLY = frozenset({Mode.RGB})


@functools.lru_cache(maxsize=16)
def assumed_intrinsics(width: int, height: int) -> Intrinsics:
    """The assumed camera for a ``width`` x ``height`` image with no calibration of its own."""
    return Intrinsics.from_fov(width, height, ASSUMED_HORIZONTAL_FOV_DEG)


def valid_fps(value: float, fallback: float = DEFAULT_FPS) -> float:
    """``value`` if it is a plausible frame rate (OpenCV reports 0 or NaN when unknown)."""
    return float(value) if np.isfinite(value) and 0 < value <= 1000 else fallback


def to_rgb(image: np.ndarray) -> np.ndarray:
    """An OpenCV image (H, W) grey, (H, W, 3) BGR or (H, W, 4) BGRA -> (H, W, 3) uint8 RGB.

    16-bit input keeps its top 8 bits. The result is a new C-contiguous array.
    """
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise ValueError(f"expected an 8- or 16-bit image, got {image.dtype}")
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    raise ValueError(f"expected a grey, BGR or BGRA image, got shape {image.shape}")
