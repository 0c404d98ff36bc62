"""Analytic depth maps (planes, spheres) with exact ground truth, for tests and benchmarks.

Every function returns an (H, W) float32 depth map in metres along the optical axis of the
given camera (OpenCV frame: x right, y down, z forward), with 0 where the ray hits nothing.
"""

from __future__ import annotations

import numpy as np

from models.camera import Intrinsics


def pixel_rays(intrinsics: Intrinsics) -> tuple[np.ndarray, np.ndarray]:
    """Ray directions through every pixel centre, scaled to z = 1.

    Returns:
        ``(x, y)``: (H, W) float64 arrays, the x and y components of the ray with z = 1,
        i.e. ``((u - cx) / fx, (v - cy) / fy)``.
    """
    u = (np.arange(intrinsics.width, dtype=np.float64) - intrinsics.cx) / intrinsics.fx
    v = (np.arange(intrinsics.height, dtype=np.float64) - intrinsics.cy) / intrinsics.fy
    x, y = np.meshgrid(u, v)
    return x, y


def plane_depth(
    intrinsics: Intrinsics,
    distance: float,
    normal: tuple[float, float, float] = (0.0, 0.0, -1.0),
) -> np.ndarray:
    """A plane through the camera-frame point (0, 0, ``distance``) with the given normal.

    Args:
        intrinsics: the camera.
        distance: metres along the optical axis where the plane crosses it (> 0).
        normal: plane normal in the camera frame (any length); (0, 0, -1) is fronto-parallel.

    Returns:
        (H, W) float32 depth in metres; 0 where the ray is parallel to the plane or the plane
        lies behind the camera.
    """
    x, y = pixel_rays(intrinsics)
    n = np.asarray(normal, dtype=np.float64)
    n = n / np.linalg.norm(n)
    denom = n[0] * x + n[1] * y + n[2]
    numer = n[2] * distance
    with np.errstate(divide="ignore", invalid="ignore"):
        z = numer / denom
    z = np.where(np.isfinite(z) & (z > 0), z, 0.0)
    return z.astype(np.float32)


def tilted_plane_depth(intrinsics: Intrinsics, distance: float, tilt_rad: float) -> np.ndarray:
    """A plane through (0, 0, ``distance``) turned by ``tilt_rad`` about the camera's y axis.

    At ``tilt_rad = 0`` the plane is fronto-parallel; the depth then grows toward +x for a
    positive tilt. The angle between the plane normal and the optical axis is ``|tilt_rad|``.
    Returns (H, W) float32 metres, 0 where the ray misses the plane.
    """
    normal = (np.sin(tilt_rad), 0.0, -np.cos(tilt_rad))
    return plane_depth(intrinsics, distance, normal)


def sphere_depth(
    intrinsics: Intrinsics,
    centre: tuple[float, float, float],
    radius: float,
    background: float = 0.0,
) -> np.ndarray:
    """The front surface of a sphere, in front of a fronto-parallel wall or nothing.

    Args:
        intrinsics: the camera.
        centre: sphere centre in metres, camera frame.
        radius: sphere radius in metres.
        background: depth in metres of a fronto-parallel wall behind the sphere, or 0 for
            empty background. The wall is only drawn where the sphere is missed.

    Returns:
        (H, W) float32 depth in metres.
    """
    x, y = pixel_rays(intrinsics)
    c = np.asarray(centre, dtype=np.float64)
    # Points t * (x, y, 1): |t r - c|^2 = R^2  ->  a t^2 - 2 b t + cc = 0
    a = x * x + y * y + 1.0
    b = x * c[0] + y * c[1] + c[2]
    cc = float(c @ c) - radius * radius
    disc = b * b - a * cc
    hit = disc >= 0
    t = (b - np.sqrt(np.where(hit, disc, 0.0))) / a
    hit &= t > 0
    z = np.where(hit, t, background)
    return z.astype(np.float32)
