"""Pinhole camera intrinsics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics of an image grid.

    ``fx``, ``fy``: focal lengths in pixels; ``cx``, ``cy``: principal point in pixels, with
    pixel centres at integer coordinates (OpenCV's convention); ``width``, ``height``: the
    image size in pixels that the numbers refer to.
    """

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def __post_init__(self) -> None:
        if not (self.fx > 0 and self.fy > 0):
            raise ValueError(f"focal lengths must be positive, got fx={self.fx}, fy={self.fy}")
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"image size must be positive, got {self.width}x{self.height}")

    @property
    def matrix(self) -> np.ndarray:
        """The 3x3 camera matrix K (float64)."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    def scaled(self, width: int, height: int) -> Intrinsics:
        """The same camera seen on a resized grid of ``width`` x ``height`` pixels."""
        sx, sy = width / self.width, height / self.height
        return Intrinsics(
            fx=self.fx * sx,
            fy=self.fy * sy,
            cx=(self.cx + 0.5) * sx - 0.5,
            cy=(self.cy + 0.5) * sy - 0.5,
            width=width,
            height=height,
        )

    def project(self, points: np.ndarray) -> np.ndarray:
        """Project camera-frame points (..., 3) in metres to pixels (..., 2); z must be > 0."""
        points = np.asarray(points)
        z = points[..., 2]
        u = self.fx * points[..., 0] / z + self.cx
        v = self.fy * points[..., 1] / z + self.cy
        return np.stack([u, v], axis=-1)

    @classmethod
    def from_fov(cls, width: int, height: int, horizontal_fov_deg: float) -> Intrinsics:
        """A centred camera with square pixels and the given horizontal field of view."""
        f = 0.5 * width / np.tan(np.radians(horizontal_fov_deg) / 2)
        return cls(fx=f, fy=f, cx=(width - 1) / 2, cy=(height - 1) / 2, width=width, height=height)

    def to_dict(self) -> dict[str, float]:
        return {"fx": self.fx, "fy": self.fy, "cx": self.cx, "cy": self.cy,
                "width": self.width, "height": self.height}


# A TrueDepth-like camera: 600 px focal length at 640x480, a 56 degree horizontal field of view.
TRUEDEPTH_FOCAL_PX_AT_640 = 600.0


def truedepth_intrinsics(width: int = 640, height: int = 480) -> Intrinsics:
    """A centred TrueDepth-like camera on a ``width`` x ``height`` grid (landscape)."""
    focal = TRUEDEPTH_FOCAL_PX_AT_640 * width / 640
    return Intrinsics(fx=focal, fy=focal, cx=(width - 1) / 2, cy=(height - 1) / 2, width=width, height=height)
