"""Points on the face model's surface (triangle + barycentrics) and their linear model.

A landmark detector's point ``k`` is tied to the model surface at triangle ``T_k`` (three
vertex indices) and barycentric coordinates ``b_k`` (3, summing to 1); its head-frame position
is then linear in the coefficients: ``P_k(a, e) = t_k + A_k a + B_k e`` with ``t_k``, ``A_k``,
``B_k`` the barycentric blends of the template and the bases at the triangle's corners.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.face_model import FaceModel

MM_PER_M = 1000.0


@dataclass(frozen=True, eq=False)
class SurfacePoints:
    """K points on the model surface.

    triangles: (K, 3) int32 vertex indices of the full model; barycentrics: (K, 3) float32
    weights of the corners (rows sum to 1).
    """

    triangles: np.ndarray
    barycentrics: np.ndarray

    def __post_init__(self) -> None:
        if self.triangles.shape != self.barycentrics.shape or self.triangles.shape[1:] != (3,):
            raise ValueError(f"triangles {self.triangles.shape} and barycentrics {self.barycentrics.shape} "
                             "must both be (K, 3)")

    def __len__(self) -> int:
        return len(self.triangles)

    @classmethod
    def at_vertices(cls, indices: np.ndarray) -> SurfacePoints:
        """Points sitting exactly on the given vertices (e.g. the model's 68 landmarks)."""
        indices = np.asarray(indices, np.int32)
        triangles = np.repeat(indices[:, None], 3, axis=1)
        barycentrics = np.zeros(triangles.shape, np.float32)
        barycentrics[:, 0] = 1.0
        return cls(triangles, barycentrics)

    def blend(self, vertices: np.ndarray) -> np.ndarray:
        """(K, D) points of (V, D) per-vertex values (positions, or a basis' offsets)."""
        return np.einsum("kc,kcd->kd", self.barycentrics, vertices[self.triangles])

    def subset(self, rows: np.ndarray) -> SurfacePoints:
        """The points ``rows`` only."""
        return SurfacePoints(self.triangles[rows], self.barycentrics[rows])


class SurfaceBasis:
    """The face model at K surface points, in millimetres, laid out for the Gauss-Newton fit.

    Attributes:
        template: (K, 3) float64 mm neutral mean shape at the points.
        identity: (K, 3, 100) float64 mm per unit identity coefficient.
        expression: (K, 3, 53) float64 mm per unit expression weight.
    """

    def __init__(self, model: FaceModel, points: SurfacePoints):
        self.points = points
        corners = np.unique(points.triangles)
        remap = np.searchsorted(corners, points.triangles)
        local = SurfacePoints(remap.astype(np.int32), points.barycentrics)
        self.template = local.blend(model.template[corners].astype(np.float64)) * MM_PER_M
        identity = np.moveaxis(model.identity_basis[:, corners], 0, -1).reshape(len(corners), -1)
        expression = np.moveaxis(model.expression_basis[:, corners], 0, -1).reshape(len(corners), -1)
        self.identity = (local.blend(identity.astype(np.float64)) * MM_PER_M).reshape(len(points), 3, -1)
        self.expression = (local.blend(expression.astype(np.float64)) * MM_PER_M).reshape(len(points), 3, -1)
        # the same, flat (3K, n): one matrix-vector product per evaluation
        self._identity_flat = np.ascontiguousarray(self.identity.reshape(3 * len(points), -1))
        self._expression_flat = np.ascontiguousarray(self.expression.reshape(3 * len(points), -1))

    @property
    def num_identity(self) -> int:
        return self.identity.shape[2]

    @property
    def num_expression(self) -> int:
        return self.expression.shape[2]

    def expression_offsets(self, expression: np.ndarray) -> np.ndarray:
        """(K, 3) float64 mm: the expression's part of the points."""
        return (self._expression_flat @ np.asarray(expression, np.float64)).reshape(-1, 3)

    def head_points(self, identity: np.ndarray, expression: np.ndarray,
                    offset: np.ndarray | None = None) -> np.ndarray:
        """(K, 3) float64 head-frame mm points for the coefficients (+ a fixed (K, 3) mm offset)."""
        flat = self._identity_flat @ np.asarray(identity, np.float64) \
            + self._expression_flat @ np.asarray(expression, np.float64)
        out = self.template + flat.reshape(-1, 3)
        return out if offset is None else out + offset
