"""Viewport-ready geometry, computed off the GUI thread (numpy only, no Qt).

The pipeline's 3D values are in the capture camera's OpenCV frame (x right, y down, z forward,
metres). The viewport's scene frame is y up: x right, y up, z toward the viewer, with the
capture camera at the origin looking down -z (the ``gl`` export space). The conversion is the
proper rotation ``F = diag(1, -1, -1)``, so triangle winding is kept.

The head-stabilised view shows the mesh in the face model's head frame (x to the subject's
left, y up, z out of the face), which follows the same y-up convention: with the head pose
``p_cam = R @ p_head + t``, a scene point ``g`` maps to ``p_head = R.T @ (F @ g - t)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.camera import Intrinsics
from models.conventions import GL_FROM_OPENCV, points_opencv_to_gl
from models.face_model import FaceModel
from models.face_model.eyes import (
    EYEBALL_RANGES,
    SCLERA_RANGES,
    eyeball_centres,
    eyeball_triangles,
    posed_eyeballs,
)
from models.face_result import FaceResult
from models.geometry import depth_to_xyz
from models.normals import vertex_normals


def view_from_opencv(points: np.ndarray) -> np.ndarray:
    """(..., 3) OpenCV camera-frame points -> (..., 3) float32 scene (y-up) points."""
    return points_opencv_to_gl(np.asarray(points, dtype=np.float32))


def head_from_view(rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """(4, 4) float64 matrix (column vectors) taking scene points into the head frame.

    rotation: (3, 3) camera-from-head (OpenCV camera); translation: (3,) metres.
    """
    rotation = np.asarray(rotation, dtype=np.float64)
    matrix = np.eye(4)
    matrix[:3, :3] = rotation.T @ GL_FROM_OPENCV  # the GL flip is its own inverse
    matrix[:3, 3] = -rotation.T @ np.asarray(translation, dtype=np.float64)
    return matrix


@dataclass(frozen=True, eq=False)
class MeshArrays:
    """A face mesh in the scene frame, as the viewport draws it (indexed triangles).

    Attributes:
        vertices: (N, 3) float32 metres, scene frame.
        faces: (F, 3) int32 vertex indices (shared topology: the same array every frame).
        normals: (N, 3) float32 unit vertex normals.
        centre: (3,) float32 centre of the bounding box.
    """

    vertices: np.ndarray
    faces: np.ndarray
    normals: np.ndarray
    centre: np.ndarray


def mesh_arrays(vertices_cv: np.ndarray, faces: np.ndarray) -> MeshArrays:
    """The scene-frame arrays of an (N, 3) OpenCV camera-frame mesh."""
    vertices = view_from_opencv(vertices_cv)
    normals = vertex_normals(vertices, faces)
    centre = 0.5 * (vertices.min(axis=0) + vertices.max(axis=0))
    return MeshArrays(vertices, faces, normals, centre.astype(np.float32))


def point_cloud(depth: np.ndarray, intrinsics: Intrinsics, *, max_points: int = 20000,
                near: np.ndarray | None = None, radius: float = 0.25) -> np.ndarray:
    """A subsampled point cloud of a depth map, (M, 3) float32 in the scene frame.

    depth: (H, W) float32 metres on the grid of ``intrinsics``. Every ``s``-th pixel in both
    directions is kept so that at most about ``max_points`` remain; with ``near`` (3,) an
    OpenCV camera-frame point (the face), only points within ``radius`` metres of it are kept.
    """
    height, width = depth.shape
    step = max(1, int(np.ceil(np.sqrt(height * width / max(1, max_points)))))
    sub = np.ascontiguousarray(depth[::step, ::step])
    camera = Intrinsics(fx=intrinsics.fx / step, fy=intrinsics.fy / step, cx=intrinsics.cx / step,
                        cy=intrinsics.cy / step, width=sub.shape[1], height=sub.shape[0])
    xyz, valid = depth_to_xyz(sub, camera)
    points = xyz[valid]
    if near is not None and len(points):
        near = np.asarray(near, dtype=np.float32)
        points = points[np.sum((points - near) ** 2, axis=1) < radius * radius]
    return view_from_opencv(points)


@dataclass(frozen=True, eq=False)
class EyeMeshes:
    """Both eyeballs in the scene frame, turned with the gaze: the white and the iris cap
    (two meshes over the same vertices, so each draws in its own colour)."""

    sclera: MeshArrays
    iris: MeshArrays


class EyeballGeometry:
    """The face model's eyeballs (their outer shells) for display, posed and turned with the gaze.

    ICT-FaceKit keeps the eyeballs in the full model (:mod:`models.face_model.eyes`); they
    never move with an expression, so here each is turned rigidly about its centre by the
    result's gaze. The iris cap is the shell within ``iris_angle`` radians of the forward axis
    (as the synthetic actors' irises are painted).
    """

    def __init__(self, model: FaceModel, iris_angle: float = 0.62):
        start, stop = EYEBALL_RANGES[0][0], EYEBALL_RANGES[1][1]
        self._template = model.template[start:stop].astype(np.float32)
        self._basis = np.ascontiguousarray(model.identity_basis[:, start:stop].reshape(model.num_identity, -1))
        self._key: bytes | None = None
        self._shape = self._template
        triangles = eyeball_triangles(model.triangles)
        shell = np.zeros(stop - start, dtype=bool)
        for a, b in SCLERA_RANGES:
            shell[a - start:b - start] = True
        triangles = triangles[np.all(shell[triangles], axis=1)]
        centres = eyeball_centres(self._template)
        in_iris = np.zeros(stop - start, dtype=bool)
        for eye, (a, b) in enumerate(SCLERA_RANGES):
            direction = self._template[a - start:b - start] - centres[eye]
            cosine = direction[:, 2] / np.linalg.norm(direction, axis=1)
            in_iris[a - start:b - start] = cosine > np.cos(iris_angle)
        iris = np.all(in_iris[triangles], axis=1)
        self.iris_faces = np.ascontiguousarray(triangles[iris], dtype=np.int32)
        self.sclera_faces = np.ascontiguousarray(triangles[~iris], dtype=np.int32)

    def _identity_shape(self, identity: np.ndarray | None) -> np.ndarray:
        if identity is None:
            return self._template
        key = np.asarray(identity, np.float32).tobytes()
        if key != self._key:
            offsets = np.asarray(identity, np.float32) @ self._basis
            self._shape = self._template + offsets.reshape(-1, 3)
            self._key = key
        return self._shape

    def meshes(self, result: FaceResult) -> EyeMeshes | None:
        """The eyeballs of a result with a pose (None without one); gaze None looks ahead."""
        if result.rotation is None or result.translation is None:
            return None
        head = posed_eyeballs(self._identity_shape(result.identity), result.gaze)
        camera = head.astype(np.float64) @ np.asarray(result.rotation).T + np.asarray(result.translation)
        return EyeMeshes(mesh_arrays(camera, self.sclera_faces), mesh_arrays(camera, self.iris_faces))
