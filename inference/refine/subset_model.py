"""The face model restricted to the fitting subset, laid out once for fast fitting.

Everything is float32 millimetres in the head frame, coordinates first: points are (3, N)
arrays and each basis is a (3, N, K) array, so that a vertex evaluation is one
matrix-vector product over its (3N, K) view and a point-to-plane Jacobian block
``n_i^T R B_i`` is three scaled row gathers.
"""

from __future__ import annotations

import numpy as np

from inference.refine.vertex_subset import select_fit_vertices
from models.face_model import FaceModel
from models.normals import vertex_normals

MM_PER_M = 1000.0


class SubsetModel:
    """The linear face model on ``indices`` (narrow-face vertex indices), in mm.

    Attributes:
        indices: (N,) int64 narrow-face vertex indices.
        template: (3, N) float32 mm.
        normals: (3, N) float32 unit template vertex normals (head frame, out of the face).
        num_identity, num_expression: basis sizes (100, 53).
    """

    def __init__(self, model: FaceModel, indices: np.ndarray):
        self.indices = np.asarray(indices, dtype=np.int64)
        n = len(self.indices)
        self.template = np.ascontiguousarray(model.template[self.indices].T * MM_PER_M, dtype=np.float32)
        # (K, N, 3) -> (3, N, K)
        self._identity = np.ascontiguousarray(
            model.identity_basis[:, self.indices].transpose(2, 1, 0) * MM_PER_M, dtype=np.float32)
        self._expression = np.ascontiguousarray(
            model.expression_basis[:, self.indices].transpose(2, 1, 0) * MM_PER_M, dtype=np.float32)
        self.num_identity = self._identity.shape[2]
        self.num_expression = self._expression.shape[2]
        self._identity_flat = self._identity.reshape(3 * n, self.num_identity)
        self._expression_flat = self._expression.reshape(3 * n, self.num_expression)
        region = model.region("narrow_face")
        normals = vertex_normals(model.template[: region.num_vertices], region.triangles)
        if np.mean(normals[:, 2]) < 0:  # clockwise winding: turn the normals out of the face
            normals = -normals
        self.normals = np.ascontiguousarray(normals[self.indices].T)
        self._cache: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def build(cls, model: FaceModel, count: int, eye_margin_mm: float, mouth_margin_mm: float,
              border_margin_mm: float) -> SubsetModel:
        return cls(model, select_fit_vertices(model, count, eye_margin_mm, mouth_margin_mm, border_margin_mm))

    def __len__(self) -> int:
        return len(self.indices)

    def identity_offset(self, identity: np.ndarray) -> np.ndarray:
        """(3, N) float32 mm: template plus the identity offset (the last one is cached: a
        take holds its identity over many frames). Treat the result as read-only."""
        identity = np.asarray(identity, dtype=np.float32)
        cached = self._cache  # one (identity, base) pair, replaced atomically
        if cached is not None and np.array_equal(identity, cached[0]):
            return cached[1]
        base = self.template + (self._identity_flat @ identity).reshape(3, -1)
        self._cache = (identity.copy(), base)
        return base

    def vertices(self, base: np.ndarray, expression: np.ndarray) -> np.ndarray:
        """(3, N) float32 mm head-frame vertices: ``base`` (:meth:`identity_offset`) plus expression."""
        return base + (self._expression_flat @ np.asarray(expression, dtype=np.float32)).reshape(3, -1)

    def expression_jacobian(self, head_normals: np.ndarray, rows: np.ndarray, out: np.ndarray) -> None:
        """Write ``m_i^T B_expr[i]`` (M, 53) into ``out`` for subset rows ``rows`` (M,).

        head_normals: (3, M) float32 normals rotated into the head frame (``m = R^T n``).
        """
        _project(self._expression, head_normals, rows, out)

    def identity_jacobian(self, head_normals: np.ndarray, rows: np.ndarray, out: np.ndarray) -> None:
        """Write ``m_i^T B_id[i]`` (M, 100) into ``out`` (see :meth:`expression_jacobian`)."""
        _project(self._identity, head_normals, rows, out)

    def identity_motion_mm(self, delta: np.ndarray) -> float:
        """RMS vertex motion (mm) over the subset that an identity change ``delta`` causes."""
        motion = (self._identity_flat @ np.asarray(delta, dtype=np.float32)).reshape(3, -1)
        return float(np.sqrt(np.mean(np.sum(motion * motion, axis=0))))


def _project(basis: np.ndarray, normals: np.ndarray, rows: np.ndarray, out: np.ndarray) -> None:
    np.multiply(basis[0, rows], normals[0][:, None], out=out)
    out += basis[1, rows] * normals[1][:, None]
    out += basis[2, rows] * normals[2][:, None]
