"""The rig's geometry, from the face model: base face, ARKit morph targets, eyeballs.

Everything here is in the head frame of the face model (x to the subject's left, y up, z out
of the face, metres), which is also glTF's asset convention (+y up, the front faces +z).

Morph targets (one per ARKit curve, in :data:`models.arkit_values.CURVE_NAMES` order): the
offset of the ICT expression that the Live Link Face CSV maps onto that curve. Two ARKit
curves are split into halves in ICT: ``browInnerUp`` and ``cheekPuff`` (``_L`` and ``_R``).
The CSV's value for them is the mean of the halves, so their morph target is the *sum* of the
two halves' offsets: weight ``(wL + wR) / 2`` on ``dL + dR`` replays the ICT mesh exactly when
the halves are equal (the ARKit curve is one symmetric shape) and is off by
``(wL - wR) / 2 * (dR - dL)`` otherwise (:func:`split_pair_error`), the part of the face model
that 52 ARKit curves cannot carry. ``tongueOut`` has no ICT shape: its target moves nothing.
Targets are trimmed to the vertices they move by more than :data:`TRIM_M` (1 micrometre).

glTF stores one UV per vertex, so the face region's vertices on a UV seam are duplicated
(:func:`split_seams`): vertex ``i < N`` is face-model vertex ``i`` (with its first UV), the rest
duplicate :attr:`RigMesh.source` ``[i]``. UVs are flipped to glTF's top-left origin.

The eyes are ICT-FaceKit's eyeballs (a sclera shell and an iris/cornea layer per eye; the
full model's vertices 21451-23020 are the subject's left eye, 23021-24590 the right one),
each centred on its sclera's centre so that a node rotation turns it in place.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from app.export.mesh import EXPORT_REGION
from models.face_model import REGION_SIZES, FaceModel
from models.face_model.eyes import EYEBALL_RANGES, SCLERA_RANGES
from models.normals import VertexNormals

TRIM_M = 1e-6
"""A morph target keeps the vertices it moves by more than this (metres)."""

# The eye nodes' names, in the order of models.face_model.eyes' ranges (left, then right).
EYE_NODES = ("eyeLeft", "eyeRight")


@dataclass(frozen=True, eq=False)
class RigMesh:
    """A glTF-ready triangle mesh (vertices split at UV seams).

    Attributes:
        name: mesh name.
        positions: (V, 3) float32 metres; normals: (V, 3) float32 unit.
        uvs: (V, 2) float32, glTF orientation (origin at the image's top left).
        triangles: (T, 3) uint32, counter-clockwise seen from outside (glTF's front faces).
        source: (V,) int64 the face-model vertex each glTF vertex copies (relative to the
            mesh's first model vertex).
    """

    name: str
    positions: np.ndarray
    normals: np.ndarray
    uvs: np.ndarray
    triangles: np.ndarray
    source: np.ndarray


@dataclass(frozen=True)
class SeamSplit:
    """How a mesh's vertices are split at UV seams (see :func:`split_seams`).

    source: (V,) int64 model vertex of each glTF vertex (the first N are 0..N-1);
    uv_index: (V,) int64 index into the model's UV table; triangles: (T, 3) uint32.
    """

    source: np.ndarray
    uv_index: np.ndarray
    triangles: np.ndarray


def split_seams(triangles: np.ndarray, triangle_uvs: np.ndarray, num_vertices: int) -> SeamSplit:
    """One glTF vertex per (vertex, UV) pair used by the triangles; vertices keep their order.

    Args:
        triangles: (T, 3) vertex indices in ``[0, num_vertices)``.
        triangle_uvs: (T, 3) UV indices, corner for corner.
        num_vertices: N; every model vertex gets slot ``i`` (with the UV its first corner uses,
            or UV 0 if no triangle uses it); further UVs of a vertex are appended.
    """
    corners = np.stack([np.asarray(triangles).ravel(), np.asarray(triangle_uvs).ravel()], axis=1).astype(np.int64)
    pairs, inverse = np.unique(corners, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    # the first pair of each vertex (np.unique sorts by vertex, then UV) keeps the vertex's slot
    first = np.ones(len(pairs), dtype=bool)
    first[1:] = pairs[1:, 0] != pairs[:-1, 0]
    slot = np.empty(len(pairs), dtype=np.int64)
    slot[first] = pairs[first, 0]
    extra = np.flatnonzero(~first)
    slot[extra] = num_vertices + np.arange(len(extra))
    source = np.concatenate([np.arange(num_vertices), pairs[extra, 0]])
    uv_index = np.zeros(len(source), dtype=np.int64)
    uv_index[slot] = pairs[:, 1]
    return SeamSplit(source=source, uv_index=uv_index,
                     triangles=slot[inverse].reshape(-1, 3).astype(np.uint32))


def gltf_uvs(uvs: np.ndarray) -> np.ndarray:
    """(U, 2) OBJ-style UVs (origin bottom left) -> glTF's (origin top left), float32."""
    out = np.asarray(uvs, dtype=np.float32).copy()
    out[:, 1] = 1.0 - out[:, 1]
    return out


def arkit_target_matrix(model: FaceModel) -> np.ndarray:
    """(52, 53) float32: ARKit morph target ``j`` = sum over ICT expressions ``i`` of ``M[j, i] * d_i``.

    1 where the CSV's mapping takes ICT expression ``i`` into curve ``j`` (both halves of a
    split pair), else 0.
    """
    return (np.asarray(model.arkit_matrix) > 0).astype(np.float32)


@functools.lru_cache(maxsize=2)
def face_split(model: FaceModel) -> SeamSplit:
    """The seam split of the exported face region."""
    region = model.region(EXPORT_REGION)
    return split_seams(region.triangles, region.triangle_uvs, region.num_vertices)


@functools.lru_cache(maxsize=2)
def morph_targets(model: FaceModel) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The 52 ARKit targets of the face mesh, trimmed: per curve ``(indices, offsets)``.

    indices: (K,) uint32 glTF vertices (seam duplicates included) moved by more than
    :data:`TRIM_M`, increasing; offsets: (K, 3) float32 metres, head frame.
    """
    n = REGION_SIZES[EXPORT_REGION]
    split = face_split(model)
    basis = np.tensordot(arkit_target_matrix(model), model.expression_basis[:, :n], axes=1)  # (52, n, 3)
    targets = []
    for offsets in basis[:, split.source]:
        keep = np.flatnonzero(np.linalg.norm(offsets, axis=1) > TRIM_M)
        targets.append((keep.astype(np.uint32), np.ascontiguousarray(offsets[keep], dtype=np.float32)))
    return tuple(targets)


def split_pair_error(model: FaceModel, expression: np.ndarray) -> np.ndarray:
    """(N, 3) float32 head-frame offsets by which the rig misses the ICT mesh of ``expression``.

    For each split pair (ICT halves ``L``, ``R`` of one ARKit curve): ``(wL - wR) / 2 * (dR - dL)``
    summed; zero when the halves are equal. ``mesh_rig = mesh_ict + split_pair_error``.
    """
    n = REGION_SIZES[EXPORT_REGION]
    targets = arkit_target_matrix(model)
    weights = np.asarray(expression, dtype=np.float32)
    error = np.zeros((n, 3), dtype=np.float32)
    for row in targets:
        halves = np.flatnonzero(row)
        if len(halves) == 2:
            left, right = halves  # ICT lists the _L half first
            error += (weights[left] - weights[right]) / 2 * (model.expression_basis[right, :n]
                                                               - model.expression_basis[left, :n])
    return error


def face_mesh(model: FaceModel, head_vertices: np.ndarray) -> RigMesh:
    """The base face mesh from (N, 3) head-frame vertices of the face region."""
    split = face_split(model)
    base = np.asarray(head_vertices, dtype=np.float32)
    normals = _normals(model)(base)
    return RigMesh(name="face", positions=np.ascontiguousarray(base[split.source]),
                   normals=np.ascontiguousarray(normals[split.source]),
                   uvs=gltf_uvs(model.uvs)[split.uv_index], triangles=split.triangles,
                   source=split.source)


@functools.lru_cache(maxsize=2)
def _normals(model: FaceModel) -> VertexNormals:
    region = model.region(EXPORT_REGION)
    return VertexNormals(region.triangles, region.num_vertices)


@dataclass(frozen=True, eq=False)
class Eye:
    """One eyeball: its node name, its centre (3,) in the head frame and its mesh around it."""

    name: str
    centre: np.ndarray
    mesh: RigMesh


def eyes(model: FaceModel, identity: np.ndarray | None) -> tuple[Eye, ...]:
    """The two eyeballs of the face with ``identity`` (expressions do not move ICT's eyeballs)."""
    out = []
    full = model.vertices(identity, None, region="full")
    for name, (start, stop), (_, sclera_end) in zip(EYE_NODES, EYEBALL_RANGES, SCLERA_RANGES, strict=True):
        inside = np.all((model.triangles >= start) & (model.triangles < stop), axis=1)
        split = split_seams(model.triangles[inside] - start, model.triangle_uvs[inside], stop - start)
        points = full[start:stop].astype(np.float64)
        centre = sphere_centre(points[: sclera_end - start])
        local = (points - centre).astype(np.float32)
        normals = VertexNormals(model.triangles[inside] - start, stop - start)(local)
        out.append(Eye(name, centre, RigMesh(
            name=name, positions=np.ascontiguousarray(local[split.source]),
            normals=np.ascontiguousarray(normals[split.source]), uvs=gltf_uvs(model.uvs)[split.uv_index],
            triangles=split.triangles, source=split.source)))
    return tuple(out)


def sphere_centre(points: np.ndarray) -> np.ndarray:
    """(3,) float64 least-squares centre of a sphere through (P, 3) points."""
    points = np.asarray(points, dtype=np.float64)
    a = np.c_[2 * points, np.ones(len(points))]
    b = np.einsum("ij,ij->i", points, points)
    solution, *_ = np.linalg.lstsq(a, b, rcond=None)
    return solution[:3]


def eye_quaternions(yaw: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """(F, 4) float32 glTF quaternions (x, y, z, w) of eyes looking at (yaw, pitch) radians.

    ARKit's signs in the head frame: yaw > 0 turns toward the subject's left (about +y),
    pitch > 0 looks down (about +x); yaw is applied after pitch (``R = Ry(yaw) @ Rx(pitch)``),
    so the pupil's direction is ``(sin yaw cos pitch, -sin pitch, cos yaw cos pitch)``.
    """
    angles = np.stack([np.asarray(yaw, np.float64), np.asarray(pitch, np.float64)], axis=1)
    return Rotation.from_euler("YX", angles).as_quat().astype(np.float32)


def continuous_quaternions(quaternions: np.ndarray) -> np.ndarray:
    """(F, 4) quaternions with signs chosen so that consecutive ones are on one hemisphere
    (glTF interpolates linearly between keys: ``q`` and ``-q`` are one rotation)."""
    q = np.asarray(quaternions, dtype=np.float64)
    if len(q) < 2:
        return q
    flips = np.einsum("ij,ij->i", q[1:], q[:-1]) < 0
    sign = np.where(np.concatenate([[False], np.cumsum(flips) % 2 == 1]), -1.0, 1.0)
    return q * sign[:, None]


class DetailLayer:
    """What the exported meshes hold beyond the linear face model (the decoder's corrective),
    accumulated over a take without keeping frames.

    :meth:`add` takes one frame's head-frame face vertices and its coefficients; :attr:`mean`
    is the average residual ``vertices - model(identity, expression)`` (N, 3) metres (the
    detail layer added to the rig's base mesh). The model is linear, so the mean residual is
    the mean of the vertices minus the model of the mean coefficients: a frame costs one
    (N, 3) sum. :meth:`spread_m` estimates, from every :data:`SPREAD_STRIDE`-th frame, the
    largest per-vertex standard deviation of the residual (what a fixed detail layer cannot
    follow). Memory: three (N, 3) float64 arrays.
    """

    SPREAD_STRIDE = 32

    def __init__(self, model: FaceModel):
        n = REGION_SIZES[EXPORT_REGION]
        self._model = model
        self._sum = np.zeros((n, 3))
        self._sum_identity = np.zeros(model.num_identity)
        self._sum_expression = np.zeros(model.num_expression)
        self._sampled = 0
        self._sample_sum = np.zeros((n, 3))
        self._sample_sum_sq = np.zeros((n, 3))
        self.count = 0

    def add(self, head_vertices: np.ndarray, identity: np.ndarray | None, expression: np.ndarray | None) -> None:
        """Accumulate one frame (coefficients None: 0)."""
        head = np.asarray(head_vertices)
        self._sum += head
        if identity is not None:
            self._sum_identity[: len(identity)] += identity
        if expression is not None:
            self._sum_expression += expression
        if self.count % self.SPREAD_STRIDE == 0:
            residual = head - self._model.vertices(identity, expression, region=EXPORT_REGION)
            self._sample_sum += residual
            self._sample_sum_sq += residual * residual
            self._sampled += 1
        self.count += 1

    @property
    def mean(self) -> np.ndarray:
        """(N, 3) float64 mean residual, metres (zeros before any frame)."""
        if self.count == 0:
            return np.zeros_like(self._sum)
        linear = self._model.vertices((self._sum_identity / self.count).astype(np.float32),
                                      (self._sum_expression / self.count).astype(np.float32), region=EXPORT_REGION)
        return self._sum / self.count - linear

    def spread_m(self) -> float:
        """The largest per-vertex standard deviation of the residual's length, metres (sampled)."""
        if self._sampled == 0:
            return 0.0
        mean = self._sample_sum / self._sampled
        variance = np.maximum(self._sample_sum_sq / self._sampled - mean ** 2, 0.0).sum(axis=1)
        return float(np.sqrt(variance.max()))
