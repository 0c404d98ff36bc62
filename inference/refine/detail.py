"""The actor's detail layer: per-vertex offsets along the normal, beyond the identity modes.

The 100 linear identity modes cannot hold every actor's shape (a real TrueDepth portrait fits
to 0.8 mm on the lower face but 2.3 mm around the brows and eyes). The layer is a smooth,
regularised offset field over the narrow face, one scalar per vertex along its head-frame
normal, estimated from the depth while tracking near neutral and then held fixed:

1. :meth:`DetailLayer.observe` (per fitted frame): skipped unless the expression is near
   neutral (largest weight below ``max_expression``), so expressions are not absorbed. Each
   vertex facing the camera reads the depth point its projection lands on and the distance
   from the vertex to it along the vertex normal; distances beyond ``max_offset_mm`` (a hand,
   hair, glasses, flying pixels at the silhouette, holes) are dropped and the rest are
   weighted by Tukey's biweight; the weighted sums accumulate per vertex.
2. After ``settle_frames`` such frames the field is solved once, ``(W + s L + p I) o = W m``
   (``m``: the per-vertex weighted mean distance, ``W``: its weight per frame, ``L``: the mesh graph
   Laplacian, so the field is smooth over the surface; ``p`` pulls vertices seen little
   toward zero), and held fixed: no later frame changes it (:attr:`DetailLayer.settled`).
3. :meth:`DetailLayer.apply` adds the offsets to a head-frame narrow face (any expression).

Units: metres for vertices, millimetres for the configuration's distances.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from models.camera import Intrinsics
from models.face_model import REGION_SIZES, FaceModel
from models.normals import vertex_normals

MM_PER_M = 1000.0


@dataclass(frozen=True)
class DetailConfig:
    """How the detail layer is estimated (see the module doc).

    max_expression: a frame counts as near neutral when its largest expression weight is
        below this (blinks included: eyelids are not part of the actor's shape).
    max_offset_mm: per-frame distances beyond this are outliers and dropped.
    robust_k_mm: Tukey's scale on the distances (weights fall to 0 at this distance).
    min_facing: a vertex counts when its normal's cosine toward the camera exceeds this.
    smoothness: weight of the Laplacian term, against a vertex's mean weight per observed
        frame (about 1 for a vertex seen in every frame): larger is smoother.
    prior_weight: pull of every offset toward zero, in the same units (vertices seen in few
        frames stay near zero).
    settle_frames: near-neutral frames observed before the layer is solved and held.
    """

    max_expression: float = 0.3
    max_offset_mm: float = 4.0
    robust_k_mm: float = 6.0
    min_facing: float = 0.3
    smoothness: float = 0.15
    prior_weight: float = 0.01
    settle_frames: int = 60


class DetailLayer:
    """Per-vertex normal offsets of the narrow face, estimated over a take's first near-neutral
    frames, then fixed. :meth:`reset` for a new actor."""

    def __init__(self, model: FaceModel, config: DetailConfig | None = None):
        self.config = config or DetailConfig()
        self.size = REGION_SIZES["narrow_face"]
        self.triangles = model.region("narrow_face").triangles
        self._laplacian = _graph_laplacian(self.triangles, self.size)
        self.reset()

    def reset(self) -> None:
        self._weight = np.zeros(self.size)
        self._weighted = np.zeros(self.size)
        self.frames = 0
        self.offsets_m = np.zeros(self.size, np.float32)
        self.settled = False

    def observe(self, depth: np.ndarray, intrinsics: Intrinsics, rotation: np.ndarray, translation: np.ndarray,
                head_vertices: np.ndarray, expression: np.ndarray) -> bool:
        """Take one fitted frame's evidence; True when it was used.

        depth: (H, W) metres, 0/NaN invalid; rotation (3, 3), translation (3,) metres: the
        fitted pose (camera from head); head_vertices: (>= 6706, 3) metres, the fitted
        head-frame face without the layer; expression: (53,) the fitted weights.
        """
        c = self.config
        if self.settled or float(np.max(expression)) >= c.max_expression:
            return False
        head = np.asarray(head_vertices, np.float64)[: self.size]
        rotation = np.asarray(rotation, np.float64)
        camera = head @ rotation.T + np.asarray(translation, np.float64)
        normals = vertex_normals(head, self.triangles).astype(np.float64) @ rotation.T
        distance = self._distances(depth, intrinsics, camera, normals)
        ok = np.isfinite(distance) & (np.abs(distance) < c.max_offset_mm)
        if not np.any(ok):
            return False
        u = distance[ok] / c.robust_k_mm
        weight = np.clip(1.0 - u * u, 0.0, None) ** 2
        self._weight[ok] += weight
        self._weighted[ok] += weight * distance[ok]
        self.frames += 1
        if self.frames >= c.settle_frames:
            self.solve()
            self.settled = True
        return True

    def solve(self) -> np.ndarray:
        """Solve the smooth field from the evidence so far; (N,) float32 offsets in metres."""
        c = self.config
        frames = max(self.frames, 1)
        system = sp.diags(self._weight / frames + c.prior_weight) + c.smoothness * self._laplacian
        offsets_mm = spsolve(system.tocsc(), self._weighted / frames)
        self.offsets_m = (offsets_mm / MM_PER_M).astype(np.float32)
        return self.offsets_m

    def apply(self, head_vertices: np.ndarray) -> np.ndarray:
        """The head-frame vertices (N >= 6706, 3) metres with the offsets along their normals
        added to the narrow face (the rest unchanged); float32."""
        out = np.array(head_vertices, dtype=np.float32, copy=True)
        if not np.any(self.offsets_m):
            return out
        normals = vertex_normals(out[: self.size], self.triangles).astype(np.float32)
        out[: self.size] += self.offsets_m[:, None] * normals
        return out

    def _distances(self, depth: np.ndarray, intrinsics: Intrinsics, camera: np.ndarray,
                   normals: np.ndarray) -> np.ndarray:
        """(N,) mm from each vertex to the depth surface along its normal (+ outward); NaN
        where the vertex does not face the camera or lands off valid depth."""
        k = intrinsics
        z = camera[:, 2]
        rays = camera / np.maximum(np.linalg.norm(camera, axis=1, keepdims=True), 1e-12)
        facing = -np.sum(normals * rays, axis=1)
        if np.median(facing) < 0:  # inward winding: turn the normals out
            normals, facing = -normals, -facing
        front = (z > 1e-6) & (facing > self.config.min_facing)
        safe = np.where(front, z, 1.0)
        u = np.rint(k.fx * camera[:, 0] / safe + k.cx).astype(np.int64)
        v = np.rint(k.fy * camera[:, 1] / safe + k.cy).astype(np.int64)
        inside = front & (u >= 0) & (u < k.width) & (v >= 0) & (v < k.height)
        d = np.where(inside, depth[np.where(inside, v, 0), np.where(inside, u, 0)], np.nan).astype(np.float64)
        usable = inside & np.isfinite(d) & (d > 0)
        # The depth point on the vertex's ray (its pixel's depth, back-projected along the
        # ray), then the distance along the normal that reaches the same surface point:
        # along the ray the surface is (d - z) / cos away in z; projected onto the normal.
        along_ray = (d - z) * np.linalg.norm(camera, axis=1) / np.where(z > 1e-6, z, 1.0)
        distance = -along_ray * facing  # negative: the surface lies inside (behind) the vertex
        return np.where(usable, distance * MM_PER_M, np.nan)


def _graph_laplacian(triangles: np.ndarray, size: int) -> sp.csr_matrix:
    """(size, size) uniform graph Laplacian of the mesh edges (degree minus adjacency)."""
    t = np.asarray(triangles, np.int64)
    rows = np.concatenate([t[:, 0], t[:, 1], t[:, 2], t[:, 1], t[:, 2], t[:, 0]])
    cols = np.concatenate([t[:, 1], t[:, 2], t[:, 0], t[:, 0], t[:, 1], t[:, 2]])
    adjacency = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(size, size)).tocsr()
    adjacency.data[:] = 1.0  # an edge shared by two triangles counts once
    return (sp.diags(np.asarray(adjacency.sum(axis=1)).ravel()) - adjacency).tocsr()
