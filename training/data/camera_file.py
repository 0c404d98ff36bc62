"""``intrinsics.json``: the camera of a folder of images or of a PNG depth sequence.

Layout (one JSON object)::

    {"fx": 600.0, "fy": 600.0, "cx": 319.5, "cy": 239.5, "width": 640, "height": 480,
     "depth_scale": 0.001}

``fx``, ``fy``, ``cx``, ``cy`` in pixels of a ``width`` x ``height`` image, OpenCV's convention
(pixel centres at integers; the top-left pixel's centre is (0, 0)). ``depth_scale`` (optional,
default 0.001: millimetres) is the depth PNGs' unit in metres. Images of another size than
``width`` x ``height`` (same aspect) get the intrinsics rescaled to their size.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from models.camera import Intrinsics
from training.data.errors import DataError

__all__ = ["CAMERA_FILE", "CameraFile", "read_camera_file"]

CAMERA_FILE = "intrinsics.json"


@dataclass(frozen=True)
class CameraFile:
    """intrinsics: the camera of the stated size; depth_scale: metres per depth PNG unit."""

    intrinsics: Intrinsics
    depth_scale: float = 0.001

    def for_size(self, width: int, height: int) -> Intrinsics:
        """The intrinsics on a ``width`` x ``height`` image (rescaled when the size differs)."""
        k = self.intrinsics
        return k if (k.width, k.height) == (width, height) else k.scaled(width, height)


def read_camera_file(path: str | Path) -> CameraFile:
    """Parse an ``intrinsics.json`` (see the module doc); :class:`DataError` names a bad key."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object")
    values = {}
    for key in ("fx", "fy", "cx", "cy", "width", "height"):
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise DataError(f"{path}: key {key!r} must be a number, got {value!r}")
        values[key] = value
    for key in ("width", "height"):
        if values[key] != int(values[key]) or values[key] <= 0:
            raise DataError(f"{path}: key {key!r} must be a positive whole number of pixels")
    scale = data.get("depth_scale", 0.001)
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not scale > 0:
        raise DataError(f"{path}: key 'depth_scale' must be a positive number (metres per unit)")
    try:
        intrinsics = Intrinsics(fx=float(values["fx"]), fy=float(values["fy"]), cx=float(values["cx"]),
                                cy=float(values["cy"]), width=int(values["width"]), height=int(values["height"]))
    except ValueError as exc:
        raise DataError(f"{path}: {exc}") from None
    return CameraFile(intrinsics, float(scale))
