"""The exported mesh: face-region topology, its UVs and per-vertex normals."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from app.export.errors import ExportError
from models.face_model import FaceModel
from models.normals import VertexNormals

EXPORT_REGION = "face"


@dataclass(frozen=True, eq=False)
class FaceTopology:
    """Topology of the exported region, shared by every frame.

    Attributes:
        num_vertices: vertices per frame (the face region, face-model vertex order).
        triangles: (T, 3) int32 vertex indices, counter-clockwise seen from outside the face.
        uvs: (U, 2) float32 texture coordinates used by the region (a compact subset of the
            model's UVs, in the model's order).
        triangle_uvs: (T, 3) int32 indices into :attr:`uvs`, corner for corner.
    """

    num_vertices: int
    triangles: np.ndarray
    uvs: np.ndarray
    triangle_uvs: np.ndarray

    def check_vertices(self, vertices: np.ndarray, index: int) -> np.ndarray:
        """``vertices`` as an (N, 3) array, or ExportError naming the frame."""
        vertices = np.asarray(vertices)
        if vertices.shape != (self.num_vertices, 3):
            raise ExportError(f"frame {index}: vertices have shape {vertices.shape}, expected "
                              f"({self.num_vertices}, 3) (the face model's {EXPORT_REGION!r} region)")
        return vertices

    def vertex_normals(self, vertices: np.ndarray) -> np.ndarray:
        """(N, 3) float32 unit area-weighted vertex normals, pointing out of the face."""
        return self._normals(np.asarray(vertices, dtype=np.float32))

    @functools.cached_property
    def _normals(self) -> VertexNormals:
        return VertexNormals(self.triangles, self.num_vertices)


@functools.lru_cache(maxsize=4)
def face_topology(model: FaceModel) -> FaceTopology:
    """The export topology of ``model``'s face region (cached per model object)."""
    region = model.region(EXPORT_REGION)
    used, compact = np.unique(region.triangle_uvs.ravel(), return_inverse=True)
    return FaceTopology(
        num_vertices=region.num_vertices,
        triangles=np.ascontiguousarray(region.triangles, dtype=np.int32),
        uvs=np.ascontiguousarray(model.uvs[used], dtype=np.float32),
        triangle_uvs=compact.reshape(region.triangle_uvs.shape).astype(np.int32),
    )
