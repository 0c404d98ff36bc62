"""Area-weighted vertex normals of a triangle mesh.

Winding convention: a triangle ``(a, b, c)`` faces the side from which its corners are seen
counter-clockwise, i.e. its normal is ``(b - a) x (c - a)`` (right-hand rule). The face model's
triangles are wound this way, so these normals point *out of* the face and head (for a
frontal face in the camera frame, the nose-tip normal is near ``(0, 0, -1)``, toward the
camera). A proper rotation of the vertices (``head_pose_to_camera``) keeps the winding, so
the same rule holds in the head and the camera frame. Meshes drawn with the face (e.g.
shoulders) must be wound the same way to be lit from the right side.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

__all__ = ["VertexNormals", "face_normals", "vertex_normals"]


def face_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(T, 3) float32 un-normalised triangle normals ``(b - a) x (c - a)``; length = 2 x area.

    vertices: (N, 3) float; triangles: (T, 3) integer indices into ``vertices``.
    """
    v = np.asarray(vertices, dtype=np.float32)
    tri = np.asarray(triangles)
    a = v[tri[:, 0]]
    e1 = v[tri[:, 1]] - a
    e2 = v[tri[:, 2]] - a
    out = np.empty((tri.shape[0], 3), dtype=np.float32)
    out[:, 0] = e1[:, 1] * e2[:, 2] - e1[:, 2] * e2[:, 1]
    out[:, 1] = e1[:, 2] * e2[:, 0] - e1[:, 0] * e2[:, 2]
    out[:, 2] = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    return out


class VertexNormals:
    """Vertex normals of meshes that share one triangle list (precomputes the adjacency).

    Args:
        triangles: (T, 3) integer indices, wound as the module doc says.
        num_vertices: N, the number of vertices the indices refer to.
    """

    def __init__(self, triangles: np.ndarray, num_vertices: int) -> None:
        tri = np.ascontiguousarray(triangles)
        if tri.ndim != 2 or tri.shape[1] != 3:
            raise ValueError(f"triangles must have shape (T, 3), got {tri.shape}")
        self.triangles = tri
        self.num_vertices = int(num_vertices)
        t = tri.shape[0]
        # (N, T) incidence: row i sums the area vectors of the triangles that use vertex i.
        self._incidence = scipy.sparse.csr_matrix(
            (np.ones(3 * t, dtype=np.float32), (tri.reshape(-1), np.repeat(np.arange(t), 3))),
            shape=(self.num_vertices, t),
        )

    def __call__(self, vertices: np.ndarray) -> np.ndarray:
        """(N, 3) float32 unit normals of ``vertices`` (N, 3), in the vertices' frame.

        A vertex used by no triangle (or only by degenerate ones) gets ``(0, 0, 0)``.
        """
        v = np.asarray(vertices, dtype=np.float32)
        if v.shape != (self.num_vertices, 3):
            raise ValueError(f"vertices must have shape ({self.num_vertices}, 3), got {v.shape}")
        summed = np.asarray(self._incidence @ face_normals(v, self.triangles), dtype=np.float32)
        length = np.sqrt(np.einsum("ij,ij->i", summed, summed))[:, None]
        return np.divide(summed, length, out=np.zeros_like(summed), where=length > 0)


def vertex_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(N, 3) float32 unit vertex normals: the sum of the adjacent triangles' area vectors.

    Args:
        vertices: (N, 3) float positions in any frame (the normals come out in that frame).
        triangles: (T, 3) integer indices into ``vertices``, wound as the module doc says.

    For many meshes with the same triangles, build a :class:`VertexNormals` once instead.
    """
    v = np.asarray(vertices)
    return VertexNormals(triangles, v.shape[0])(v)
