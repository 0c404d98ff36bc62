"""A depth map subsampled onto a coarse grid and back-projected: what detection works on.

Detection needs no more than ~160 samples across a frame (a head at 1 m still spans ~15), so
every stage after this one touches ~20,000 points at most, whatever the camera's resolution.
Subsampling takes every ``step``-th pixel (nearest, no averaging), so a grid point is exactly
one measured pixel and depths are never mixed across an edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from models.camera import Intrinsics

__all__ = ["DepthGrid"]


@dataclass(frozen=True, eq=False)
class DepthGrid:
    """Every ``step``-th pixel of a depth map, with its 3D point.

    Attributes:
        intrinsics: the full-resolution camera.
        step: the stride; grid cell ``(r, c)`` is full pixel ``(u, v) = (c * step, r * step)``.
        z: (h, w) float32 depth in metres, 0 where invalid (0, NaN, inf or negative in the
            source).
        xyz: (h, w, 3) float32 camera-frame points in metres (OpenCV frame), 0 where invalid.
        valid: (h, w) bool.
    """

    intrinsics: Intrinsics
    step: int
    z: np.ndarray
    xyz: np.ndarray
    valid: np.ndarray

    @classmethod
    def from_depth(cls, depth: np.ndarray, intrinsics: Intrinsics, cells: int = 160) -> DepthGrid:
        """Subsample ``depth`` ((H, W) metres, the ``intrinsics`` grid) to about ``cells`` samples
        along its longer side."""
        depth = np.asarray(depth)
        if depth.shape != (intrinsics.height, intrinsics.width):
            raise ValueError(f"depth is {depth.shape[1]}x{depth.shape[0]} but the intrinsics are for "
                             f"{intrinsics.width}x{intrinsics.height}")
        step = max(1, round(max(depth.shape) / cells))
        z = np.array(depth[::step, ::step], dtype=np.float32)
        valid = np.isfinite(z) & (z > 0)
        z[~valid] = 0.0
        h, w = z.shape
        x = (np.arange(w, dtype=np.float32) * step - np.float32(intrinsics.cx)) / np.float32(intrinsics.fx)
        y = (np.arange(h, dtype=np.float32) * step - np.float32(intrinsics.cy)) / np.float32(intrinsics.fy)
        xyz = np.empty((h, w, 3), np.float32)
        np.multiply(z, x[None, :], out=xyz[..., 0])
        np.multiply(z, y[:, None], out=xyz[..., 1])
        xyz[..., 2] = z
        return cls(intrinsics, step, z, xyz, valid)

    @property
    def shape(self) -> tuple[int, int]:
        return self.z.shape

    @property
    def focal(self) -> float:
        """Focal length in grid cells (geometric mean of fx and fy over the step)."""
        return math.sqrt(self.intrinsics.fx * self.intrinsics.fy) / self.step

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Camera-frame points (N, 3), z > 0 -> float grid coordinates (column, row), each (N,)."""
        k, s = self.intrinsics, self.step
        inv_z = 1.0 / points[:, 2]
        return ((k.fx * points[:, 0] * inv_z + k.cx) / s, (k.fy * points[:, 1] * inv_z + k.cy) / s)

    def cell_area_m2(self, z: np.ndarray) -> np.ndarray:
        """Metric area (m^2) one grid cell covers on a fronto-parallel surface at depth ``z``."""
        return (self.step * self.step / (self.intrinsics.fx * self.intrinsics.fy)) * z * z
