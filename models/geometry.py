"""Depth maps, point clouds and rotations."""

from __future__ import annotations

import numpy as np

from models.camera import Intrinsics
from models.conventions import GL_FROM_OPENCV


def valid_depth_mask(depth: np.ndarray) -> np.ndarray:
    """Boolean (H, W) mask of usable depth: finite and strictly positive."""
    return np.isfinite(depth) & (depth > 0)


def depth_to_xyz(depth: np.ndarray, intrinsics: Intrinsics,
                 window: tuple[int, int, int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Back-project a depth map into a camera-frame XYZ map.

    Args:
        depth: (H, W) depth along the optical axis in metres; 0, negative, NaN or inf is invalid.
        intrinsics: the camera of the depth grid (its width and height must match ``depth``).
        window: ``(x0, y0, x1, y1)`` source pixels (end exclusive): back-project only that
            part of the grid (the same values as slicing the full result, at a fraction of the
            cost); the whole grid when None.

    Returns:
        ``(xyz, valid)``: xyz is (H, W, 3) float32 in metres in the OpenCV camera frame with
        invalid pixels set to 0; valid is the (H, W) bool mask of valid pixels (with a window,
        (y1 - y0, x1 - x0, 3) and (y1 - y0, x1 - x0)).
    """
    depth = np.asarray(depth)
    if depth.ndim != 2:
        raise ValueError(f"depth must be a 2-D array, got shape {depth.shape}")
    height, width = depth.shape
    if (width, height) != (intrinsics.width, intrinsics.height):
        raise ValueError(
            f"depth is {width}x{height} but the intrinsics are for "
            f"{intrinsics.width}x{intrinsics.height}"
        )
    x0, y0, x1, y1 = (0, 0, width, height) if window is None else window
    if not (0 <= x0 <= x1 <= width and 0 <= y0 <= y1 <= height):
        raise ValueError(f"window {window} is not inside the {width}x{height} depth map")
    depth = depth[y0:y1, x0:x1]
    valid = valid_depth_mask(depth)
    z = np.where(valid, depth, 0).astype(np.float32)
    u = (np.arange(width, dtype=np.float32) - np.float32(intrinsics.cx)) / np.float32(intrinsics.fx)
    v = (np.arange(height, dtype=np.float32) - np.float32(intrinsics.cy)) / np.float32(intrinsics.fy)
    u, v = u[x0:x1], v[y0:y1]
    xyz = np.empty((y1 - y0, x1 - x0, 3), dtype=np.float32)
    np.multiply(z, u[None, :], out=xyz[..., 0])
    np.multiply(z, v[:, None], out=xyz[..., 1])
    xyz[..., 2] = z
    return xyz, valid


def depth_to_points(depth: np.ndarray, intrinsics: Intrinsics) -> np.ndarray:
    """The valid pixels of a depth map as an (N, 3) float32 camera-frame point cloud in metres."""
    xyz, valid = depth_to_xyz(depth, intrinsics)
    return xyz[valid]


def euler_to_matrix(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Rotation (3x3 float64) from head angles in radians, applied roll, then pitch, then yaw.

    Angles are about the head frame's axes (x left-to-right of the subject, y up, z out of the
    face): yaw turns about y, pitch nods about x, roll tilts about z.
    """
    cy, sy = np.cos(yaw), np.sin(yaw)
    cp, sp = np.cos(pitch), np.sin(pitch)
    cr, sr = np.cos(roll), np.sin(roll)
    r_yaw = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    r_pitch = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    r_roll = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return r_yaw @ r_pitch @ r_roll


# Rotation that turns the head frame (y up, z out of the face) into the OpenCV camera frame
# (y down, z forward) for a face looking straight into the camera: the OpenCV/GL flip
# (models.conventions).
HEAD_TO_CAMERA_FRONTAL = GL_FROM_OPENCV


def head_pose_to_camera(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Camera-from-head rotation for a face turned by the given angles from frontal."""
    return HEAD_TO_CAMERA_FRONTAL @ euler_to_matrix(yaw, pitch, roll)


def camera_rotation_to_euler(rotation: np.ndarray) -> tuple[float, float, float]:
    """Inverse of :func:`head_pose_to_camera`: (yaw, pitch, roll) in radians."""
    r = HEAD_TO_CAMERA_FRONTAL @ np.asarray(rotation, dtype=np.float64)
    # r = R_yaw @ R_pitch @ R_roll; r[1, 2] = -sin(pitch)
    pitch = float(np.arcsin(np.clip(-r[1, 2], -1.0, 1.0)))
    yaw = float(np.arctan2(r[0, 2], r[2, 2]))
    roll = float(np.arctan2(r[1, 0], r[1, 1]))
    return yaw, pitch, roll
