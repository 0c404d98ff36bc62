"""Angle between the surface seen in a depth map and the camera's view rays.

For a depth map ``z(u, v)`` on a pinhole grid, the surface point is ``P = z * r`` with
``r = ((u - cx) / fx, (v - cy) / fy, 1)``. Crossing the tangents ``dP/du`` and ``dP/dv`` and
dropping a positive factor gives the (unnormalised) normal

    n = (-fx * z_u, -fy * z_v, fx * z_u * r_x + fy * z_v * r_y + z),   with   n . r = z,

so the cosine between the normal and the view ray is ``z / (|n| |r|)`` and needs only the
two depth derivatives: no XYZ map, no cross products.

Derivatives use the one-sided difference (forward or backward) of smaller magnitude, so a
pixel next to a depth discontinuity or an invalid pixel takes the slope of its own surface
instead of the jump.
"""

from __future__ import annotations

import numpy as np

from models.camera import Intrinsics


def _robust_derivative(z: np.ndarray, axis: int) -> np.ndarray:
    """d z / d(pixel) along ``axis``: the smaller-magnitude of the forward and backward differences.

    ``z`` is (H, W) float32 with 0 at invalid pixels. A difference to an invalid neighbour is
    as large as the valid depth itself (tens of centimetres per pixel), so it loses to the
    other side whenever that side is valid; a pixel with no valid neighbour along ``axis``
    gets a huge slope and hence reads as grazing. Returns (H, W) float32 metres per pixel.
    """
    diff = np.diff(z, axis=axis)
    forward = np.empty_like(z)
    backward = np.empty_like(z)
    if axis == 1:
        forward[:, :-1] = diff
        forward[:, -1] = diff[:, -1]
        backward[:, 1:] = diff
        backward[:, 0] = diff[:, 0]
    else:
        forward[:-1] = diff
        forward[-1] = diff[-1]
        backward[1:] = diff
        backward[0] = diff[0]
    # Pick without np.where (slow on large arrays): backward + [|f| <= |b|] * (forward - backward).
    pick = np.abs(forward) <= np.abs(backward)
    forward -= backward
    forward *= pick
    forward += backward
    return forward


def view_cosine(depth: np.ndarray, intrinsics: Intrinsics) -> np.ndarray:
    """|cos| of the angle between the surface normal and the view ray, per pixel.

    Args:
        depth: (H, W) float32 depth in metres along the optical axis; 0 (or any non-positive
            or non-finite value) is invalid.
        intrinsics: the camera of the depth grid.

    Returns:
        (H, W) float32 in [0, 1]: 1 for a surface facing the camera head-on, toward 0 at
        grazing incidence; 0 at invalid pixels. A fronto-parallel plane gives the cosine of
        each ray's angle to the optical axis (1 at the principal point).
    """
    z = np.asarray(depth, dtype=np.float32)
    if z.ndim != 2:
        raise ValueError(f"depth must be a 2-D array, got shape {z.shape}")
    valid = np.isfinite(z) & (z > 0)
    if not valid.all():
        z = np.where(valid, z, np.float32(0.0))
    height, width = z.shape
    if height < 2 or width < 2:
        return valid.astype(np.float32)  # no slope can be measured: treat as facing the camera
    rx = ((np.arange(width, dtype=np.float32) - np.float32(intrinsics.cx)) / np.float32(intrinsics.fx))[None, :]
    ry = ((np.arange(height, dtype=np.float32) - np.float32(intrinsics.cy)) / np.float32(intrinsics.fy))[:, None]
    a = _robust_derivative(z, axis=1)
    a *= np.float32(intrinsics.fx)
    b = _robust_derivative(z, axis=0)
    b *= np.float32(intrinsics.fy)
    nz = a * rx
    nz += b * ry
    nz += z
    norm_sq = a * a
    norm_sq += b * b
    norm_sq += nz * nz
    ray_sq = rx * rx + ry * ry + np.float32(1.0)
    norm_sq *= ray_sq
    np.maximum(norm_sq, np.float32(1e-30), out=norm_sq)  # invalid pixels: z = 0, so cos = 0
    cos = z / np.sqrt(norm_sq)
    np.clip(cos, 0.0, 1.0, out=cos)
    return cos
