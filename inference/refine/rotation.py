"""Axis-angle (rotation vector) <-> rotation matrix, for the pose update."""

from __future__ import annotations

import numpy as np


def axis_angle_to_matrix(omega: np.ndarray) -> np.ndarray:
    """Rodrigues' formula: the (3, 3) float64 rotation of the rotation vector ``omega`` (radians)."""
    omega = np.asarray(omega, dtype=np.float64)
    theta = float(np.linalg.norm(omega))
    k = np.array([[0.0, -omega[2], omega[1]], [omega[2], 0.0, -omega[0]], [-omega[1], omega[0], 0.0]])
    if theta < 1e-8:
        return np.eye(3) + k + 0.5 * (k @ k)
    k /= theta
    return np.eye(3) + np.sin(theta) * k + (1.0 - np.cos(theta)) * (k @ k)


def rotation_angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    """The angle in degrees of the rotation taking ``b`` to ``a`` (both (3, 3))."""
    cos = (np.trace(np.asarray(a) @ np.asarray(b).T) - 1.0) / 2.0
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def orthonormalize(rotation: np.ndarray) -> np.ndarray:
    """A proper rotation (3, 3) float64 from a nearly orthonormal matrix (removes the drift of
    repeated updates): Gram-Schmidt on the first two rows, the third their cross product."""
    r = np.asarray(rotation, dtype=np.float64)
    x = r[0] / np.linalg.norm(r[0])
    y = r[1] - (x @ r[1]) * x
    y /= np.linalg.norm(y)
    return np.stack([x, y, np.cross(x, y)])
