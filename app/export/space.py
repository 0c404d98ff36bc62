"""Export coordinate spaces: ``gl`` (default) and ``opencv`` (docs/CONTRACT.md).

The pipeline works in the capture camera's OpenCV frame (x right, y down, z forward, metres).
``gl`` is the same camera frame with y and z negated (x right, y up, z toward the viewer: the
OpenGL, Alembic, Maya and Blender-import convention); ``opencv`` leaves values as they are.

Both conversions are proper rotations (:mod:`models.conventions`), so triangle winding and
handedness are kept. The head frame of the face model is not changed: a camera-from-head
rotation ``R`` becomes ``F @ R`` with ``F = diag(1, -1, -1)``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from app.export.errors import ExportError
from models.conventions import GL_FROM_OPENCV, points_opencv_to_gl, rotation_opencv_to_gl

Space = Literal["gl", "opencv"]
SPACES: tuple[str, ...] = ("gl", "opencv")

def check_space(space: str) -> Space:
    """Return ``space`` if known, else raise :class:`ExportError` with one line."""
    if space not in SPACES:
        raise ExportError(f"unknown export space {space!r}; expected 'gl' or 'opencv'")
    return space  # type: ignore[return-value]


def space_matrix(space: Space) -> np.ndarray:
    """(3, 3) float64 rotation taking OpenCV camera coordinates into ``space``."""
    return GL_FROM_OPENCV.copy() if space == "gl" else np.eye(3)


def points_to_space(points: np.ndarray, space: Space) -> np.ndarray:
    """(..., 3) OpenCV camera-frame points -> the same points in ``space`` (dtype kept)."""
    points = np.asarray(points)
    return points if space == "opencv" else points_opencv_to_gl(points)


def rotation_to_space(rotation: np.ndarray, space: Space) -> np.ndarray:
    """(3, 3) camera-from-head rotation (OpenCV camera) -> camera-from-head in ``space``."""
    return np.asarray(rotation, dtype=np.float64) if space == "opencv" else rotation_opencv_to_gl(rotation)
