"""The depth map as a fitting target: smoothed depth of a window around the face.

Built once per frame: the window's depth is box-filtered over valid pixels only (holes do
not pull it toward zero) and pixels on depth discontinuities are dropped. Projective
association then maps each model vertex to the pixel it projects to and reads, for that
pixel only, the target point (from the smoothed depth) and the normal (from its
central-difference gradient, in closed form for a pinhole camera).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from models.camera import Intrinsics

MM_PER_M = 1000.0


@dataclass(frozen=True)
class Association:
    """Model vertices matched to depth pixels.

    points: (3, N) float32 mm target points (camera frame); normals: (3, N) float32 unit
    normals facing the camera; ok: (N,) bool, the vertex projects onto a usable pixel
    (columns where ``ok`` is False hold zeros).
    """

    points: np.ndarray
    normals: np.ndarray
    ok: np.ndarray


class DepthTarget:
    """Smoothed depth (mm) of the pixel window ``[u0, u1) x [v0, v1)``, NaN where unusable,
    stored with a NaN border of ``step_px`` so that gradients never read outside it.

    Use :meth:`build`; it returns None when the window holds too little valid depth.
    """

    def __init__(self, intrinsics: Intrinsics, window: tuple[int, int, int, int], depth_mm: np.ndarray,
                 step_px: int):
        self.intrinsics = intrinsics
        self.window = window
        self.step_px = step_px
        self._padded_width = depth_mm.shape[1]
        self._depth = depth_mm.reshape(-1)  # (padded h * padded w,) float32 mm, NaN unusable
        self._width = window[2] - window[0]
        self._height = window[3] - window[1]

    @classmethod
    def build(cls, depth: np.ndarray, intrinsics: Intrinsics, window: tuple[int, int, int, int],
              window_px: int = 5, step_px: int = 2, edge_jump_mm: float = 8.0,
              min_valid: int = 16) -> DepthTarget | None:
        """Target of ``depth`` (H, W) metres (0/NaN invalid) inside ``window`` (u0, v0, u1, v1)."""
        u0, v0, u1, v1 = window
        if u1 - u0 < 1 or v1 - v0 < 1:
            return None
        raw = np.asarray(depth[v0:v1, u0:u1], dtype=np.float32) * np.float32(MM_PER_M)
        valid = raw > 0  # False for NaN too
        if np.count_nonzero(valid) < min_valid:
            return None
        z = np.where(valid, raw, np.float32(0))
        box = (window_px, window_px)
        total = cv2.boxFilter(z, -1, box, normalize=True, borderType=cv2.BORDER_CONSTANT)
        count = cv2.boxFilter(valid.astype(np.float32), -1, box, normalize=True, borderType=cv2.BORDER_CONSTANT)
        usable = count > 0.45
        smooth = total / np.maximum(count, np.float32(1e-6))
        # A pixel whose raw depth leaves the smoothed surface sits on a discontinuity.
        usable &= ~(valid & (np.abs(raw - smooth) > np.float32(edge_jump_mm)))
        s = step_px
        padded = np.full((v1 - v0 + 2 * s, u1 - u0 + 2 * s), np.nan, dtype=np.float32)
        padded[s:-s, s:-s] = np.where(usable, smooth, np.float32(np.nan))
        return cls(intrinsics, (u0, v0, u1, v1), padded, s)

    def associate(self, points_mm: np.ndarray) -> Association:
        """Projective association of camera-frame vertices (3, N) mm to window pixels."""
        k = self.intrinsics
        u0, v0 = self.window[0], self.window[1]
        x, y, z = points_mm
        in_front = z > 1.0
        inverse_z = np.float32(1.0) / np.where(in_front, z, np.float32(1.0))
        u = np.rint(x * inverse_z * np.float32(k.fx) + np.float32(k.cx - u0)).astype(np.int32)
        v = np.rint(y * inverse_z * np.float32(k.fy) + np.float32(k.cy - v0)).astype(np.int32)
        inside = in_front & (u >= 0) & (u < self._width) & (v >= 0) & (v < self._height)
        u[~inside] = 0
        v[~inside] = 0
        s, w = self.step_px, self._padded_width
        index = (v + s) * w + (u + s)
        depth = self._depth
        zc = depth[index]
        dzu = (depth[index + s] - depth[index - s]) * np.float32(0.5 / s)
        dzv = (depth[index + s * w] - depth[index - s * w]) * np.float32(0.5 / s)
        ok = inside & np.isfinite(zc) & np.isfinite(dzu) & np.isfinite(dzv)
        bad = ~ok
        zc[bad] = 0
        dzu[bad] = 0
        dzv[bad] = 0
        a = (u + np.float32(u0 - k.cx)) * np.float32(1.0 / k.fx)
        b = (v + np.float32(v0 - k.cy)) * np.float32(1.0 / k.fy)
        points = np.empty((3, len(zc)), dtype=np.float32)
        np.multiply(zc, a, out=points[0])
        np.multiply(zc, b, out=points[1])
        points[2] = zc
        # Normal of the surface z(u, v) seen through a pinhole, toward the camera:
        # (fx z_u, fy z_v, -(z + a fx z_u + b fy z_v)), normalised.
        normals = np.empty_like(points)
        np.multiply(dzu, np.float32(k.fx), out=normals[0])
        np.multiply(dzv, np.float32(k.fy), out=normals[1])
        np.negative(zc + a * normals[0] + b * normals[1], out=normals[2])
        length = np.sqrt(normals[0] * normals[0] + normals[1] * normals[1] + normals[2] * normals[2])
        ok &= length > 0
        normals *= np.where(ok, np.float32(1.0) / np.maximum(length, np.float32(1e-12)), np.float32(0))
        return Association(points, normals, ok)


def face_window(points_mm: np.ndarray, intrinsics: Intrinsics, margin_px: int) -> tuple[int, int, int, int] | None:
    """The pixel window (u0, v0, u1, v1) around camera-frame points (3, N) mm, with a margin
    of at least ``margin_px`` that grows with the face's size (15 %); None when no point is
    in front of the camera or the window misses the image."""
    front = points_mm[:, points_mm[2] > 1.0]
    if front.shape[1] == 0:
        return None
    u = front[0] / front[2] * np.float32(intrinsics.fx) + np.float32(intrinsics.cx)
    v = front[1] / front[2] * np.float32(intrinsics.fy) + np.float32(intrinsics.cy)
    lo = np.array([u.min(), v.min()], dtype=np.float64)
    hi = np.array([u.max(), v.max()], dtype=np.float64)
    margin = max(margin_px, 0.15 * float(np.max(hi - lo)))
    u0 = int(np.clip(np.floor(lo[0] - margin), 0, intrinsics.width))
    v0 = int(np.clip(np.floor(lo[1] - margin), 0, intrinsics.height))
    u1 = int(np.clip(np.ceil(hi[0] + margin) + 1, 0, intrinsics.width))
    v1 = int(np.clip(np.ceil(hi[1] + margin) + 1, 0, intrinsics.height))
    if u1 - u0 < 4 or v1 - v0 < 4:
        return None
    return u0, v0, u1, v1
