"""Quarter turns of an image, for detectors that only find upright faces.

``turns`` counts counter-clockwise quarter turns, as :func:`numpy.rot90`. A face found upright
in an image turned by ``turns`` lies in the source at the crop angle ``turns * pi / 2`` (see
:class:`models.crop.FaceCrop`: a TrueDepth frame of an upright phone, whose face lies with its
top toward the image's right, is found at one turn, angle ``pi / 2``).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["angle_of_turns", "rotate_quarter", "to_source", "turns_of_angle"]


def rotate_quarter(image: np.ndarray, turns: int) -> np.ndarray:
    """``image`` (H, W, ...) turned counter-clockwise ``turns`` times (a contiguous copy
    unless ``turns % 4 == 0``)."""
    turns %= 4
    return image if turns == 0 else np.ascontiguousarray(np.rot90(image, turns))


def to_source(points: np.ndarray, turns: int, width: int, height: int) -> np.ndarray:
    """Pixels (..., 2) of the turned image -> pixels of the ``width`` x ``height`` source."""
    p = np.asarray(points, np.float64)
    u, v = p[..., 0], p[..., 1]
    turns %= 4
    if turns == 0:
        out = (u, v)
    elif turns == 1:
        out = (width - 1 - v, u)
    elif turns == 2:
        out = (width - 1 - u, height - 1 - v)
    else:
        out = (v, height - 1 - u)
    return np.stack(out, axis=-1)


def angle_of_turns(turns: int) -> float:
    """The crop angle (radians, in (-pi, pi]) of a face found upright after ``turns``."""
    return math.remainder((turns % 4) * math.pi / 2, 2 * math.pi)


def turns_of_angle(angle: float) -> int:
    """The quarter turn (0-3) that brings a face at crop ``angle`` closest to upright."""
    return round(angle / (math.pi / 2)) % 4
