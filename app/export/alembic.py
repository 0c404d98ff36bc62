"""Alembic archives (``NAME.abc``) through ``alembic3d``: an animated face under a moving head.

Layout (Ogawa), every animated property on one uniform time sampling at the take's frame rate
(``TimeSampling(1 / fps, first_index / fps)``, so sample ``k`` is source frame ``first + k``)::

    /head               OXform: the head pose, camera from head, per frame
    /head/face          OPolyMesh: topology, UVs and normals in the first sample, then per frame
                        positions and normals (the mesh deforms, so its normals change too)
    /camera             OXform: static; identity in ``gl`` space, a half turn about x in ``opencv``
    /camera/cameraShape OCamera: the capture camera at the origin (film back from the intrinsics)

By default vertices are in the head frame (the face model's frame: x to the subject's left, y
up, z out of the face) and the transform carries the pose, so ``vertex * matrix`` (Imath's row
vectors) is the camera-frame mesh in the export space. ``bake_pose=True`` writes camera-frame
vertices under an identity transform instead.

Faces are written clockwise (Alembic's winding, which Maya, Houdini and Blender flip on import);
UVs are indexed and face-varying, normals per vertex. Frames without a face repeat the previous
mesh (frames before the first face repeat the first one) so sample numbers match source frames.

Camera: the film back is the 35 mm-equivalent of the intrinsics: a 36 mm wide sensor
(:data:`SENSOR_WIDTH_MM`), focal length ``fx * 36 / width`` mm, the vertical aperture from ``fy``
and the image height, and the principal point as film offsets; Alembic stores focal length in
millimetres and apertures and offsets in centimetres.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import imath
import numpy as np
from alembic3d import Abc, AbcCoreAbstract, AbcGeom

from app.export.base import Exporter, ExportSession
from app.export.errors import ExportError
from app.export.frames import ExportFrame
from app.export.mesh import face_topology
from app.export.space import Space, points_to_space, rotation_to_space, space_matrix
from app.export.target import AtomicFile
from models.camera import Intrinsics
from models.face_model import FaceModel
from models.face_result import FaceResult

log = logging.getLogger(__name__)

APPLICATION = "FaceFromX"
SENSOR_WIDTH_MM = 36.0
NEAR_CLIP_M = 0.01
FAR_CLIP_M = 100.0

HEAD_XFORM, MESH, CAMERA_XFORM, CAMERA = "head", "face", "camera", "cameraShape"


@dataclass(frozen=True)
class FilmBack:
    """Alembic camera values for an intrinsics: focal length in mm, the rest in cm."""

    focal_length_mm: float
    horizontal_aperture_cm: float
    vertical_aperture_cm: float
    horizontal_offset_cm: float
    vertical_offset_cm: float

    @classmethod
    def from_intrinsics(cls, intrinsics: Intrinsics) -> FilmBack:
        """35 mm-equivalent film back (36 mm wide sensor) of a pinhole camera.

        The principal point (pixel centres at integers) becomes a film offset: positive
        horizontal offset moves the view to the right, positive vertical offset moves it up.
        """
        mm_per_px = SENSOR_WIDTH_MM / intrinsics.width
        focal_mm = intrinsics.fx * mm_per_px
        # the vertical pitch that gives fy: focal_mm / pitch_y = fy
        pitch_y = focal_mm / intrinsics.fy
        return cls(
            focal_length_mm=focal_mm,
            horizontal_aperture_cm=SENSOR_WIDTH_MM / 10.0,
            vertical_aperture_cm=intrinsics.height * pitch_y / 10.0,
            horizontal_offset_cm=(intrinsics.width / 2 - (intrinsics.cx + 0.5)) * mm_per_px / 10.0,
            vertical_offset_cm=((intrinsics.cy + 0.5) - intrinsics.height / 2) * pitch_y / 10.0,
        )

    def sample(self) -> AbcGeom.CameraSample:
        sample = AbcGeom.CameraSample()
        sample.setFocalLength(self.focal_length_mm)
        sample.setHorizontalAperture(self.horizontal_aperture_cm)
        sample.setVerticalAperture(self.vertical_aperture_cm)
        sample.setHorizontalFilmOffset(self.horizontal_offset_cm)
        sample.setVerticalFilmOffset(self.vertical_offset_cm)
        sample.setNearClippingPlane(NEAR_CLIP_M)
        sample.setFarClippingPlane(FAR_CLIP_M)
        return sample


def row_vector_matrix(rotation: np.ndarray, translation: np.ndarray) -> imath.M44d:
    """Imath matrix (row vectors: ``p' = p * M``) of ``p' = rotation @ p + translation``."""
    m = np.eye(4)
    m[:3, :3] = np.asarray(rotation, dtype=np.float64).T
    m[3, :3] = np.asarray(translation, dtype=np.float64)
    return imath.M44d(*(tuple(row) for row in m.tolist()))


def _v3f(array: np.ndarray) -> imath.V3fArray:
    return imath.V3fArrayFromBuffer(np.ascontiguousarray(array, dtype=np.float32))


class AlembicSession(ExportSession):
    """Streaming Alembic writer (see the module docstring)."""

    format_name = "Alembic"

    def __init__(self, path: str | os.PathLike, *, fps: float, face_model: FaceModel, space: Space = "gl",
                 bake_pose: bool = False, normals: bool = True, camera: bool = True):
        super().__init__(path, fps=fps, face_model=face_model, space=space)
        self.bake_pose = bake_pose
        self.normals = normals
        self.camera = camera
        self.topology = face_topology(face_model)
        # Alembic winds faces clockwise: reverse each triangle (and its UV corners).
        self._indices = imath.IntArrayFromBuffer(np.ascontiguousarray(self.topology.triangles[:, ::-1]).ravel())
        self._counts = imath.IntArrayFromBuffer(np.full(len(self.topology.triangles), 3, dtype=np.int32))
        # (UV indices are unsigned; PyImath converts from doubles, exactly for indices < 2**53.)
        self._uv_indices = imath.UnsignedIntArray(imath.DoubleArrayFromBuffer(
            np.ascontiguousarray(self.topology.triangle_uvs[:, ::-1], dtype=np.float64).ravel()))
        self._target = AtomicFile(self.path, keep_open=False)
        self._archive = self._head = self._mesh = self._camera = None
        self._samples = 0
        self._pending = 0  # frames before the first face, written once it arrives

    # -- archive ---------------------------------------------------------------------------------

    def _create(self, first_index: int) -> None:
        try:
            archive = Abc.CreateArchiveWithInfo(str(self._target.temp_path), self.fps, APPLICATION,
                                                f"face mesh from {APPLICATION}, {self.space} camera frame, metres")
        except RuntimeError as exc:
            raise ExportError(f"cannot write {self.path}: {str(exc).splitlines()[0]}") from None
        sampling = archive.addTimeSampling(AbcCoreAbstract.TimeSampling(1.0 / self.fps, first_index / self.fps))
        self._archive = archive
        self._head = AbcGeom.OXform(archive.getTop(), HEAD_XFORM, sampling)
        self._mesh = AbcGeom.OPolyMesh(self._head, MESH, sampling)
        if self.camera:
            camera_xform = AbcGeom.OXform(archive.getTop(), CAMERA_XFORM)
            still = AbcGeom.XformSample()
            # Alembic cameras look down -z with y up: the gl camera frame itself; in the opencv
            # frame (y down, z forward) that is a half turn about x.
            turn = np.eye(3) if self.space == "gl" else space_matrix("gl")
            still.setMatrix(row_vector_matrix(turn, np.zeros(3)))
            camera_xform.getSchema().set(still)
            self._camera = AbcGeom.OCamera(camera_xform, CAMERA, sampling)

    def _release(self) -> None:
        """Drop every Alembic object; the archive is finished when the last reference goes."""
        self._camera = self._mesh = self._head = self._archive = None
        gc.collect()

    # -- samples ---------------------------------------------------------------------------------

    def _sample(self, face: FaceResult, intrinsics: Intrinsics) -> None:
        vertices = self.topology.check_vertices(face.vertices, face.index).astype(np.float64)
        if self.bake_pose:
            points = points_to_space(vertices, self.space)
            matrix = imath.M44d()
        else:
            if face.rotation is None or face.translation is None:
                raise ExportError(f"frame {face.index}: a face without a pose cannot be exported to Alembic")
            rotation = np.asarray(face.rotation, dtype=np.float64)
            translation = np.asarray(face.translation, dtype=np.float64)
            points = (vertices - translation) @ rotation  # head frame: R^T (v - t)
            matrix = row_vector_matrix(rotation_to_space(rotation, self.space),
                                       points_to_space(translation, self.space))
        points = np.ascontiguousarray(points, dtype=np.float32)
        normals = None
        if self.normals:
            normals = AbcGeom.ON3fGeomParamSample(_v3f(self.topology.vertex_normals(points)),
                                                  AbcGeom.GeometryScope.kVertexScope)
        if self._samples == 0:
            uvs = AbcGeom.OV2fGeomParamSample(imath.V2fArrayFromBuffer(self.topology.uvs), self._uv_indices,
                                              AbcGeom.GeometryScope.kFacevaryingScope)
            sample = AbcGeom.OPolyMeshSchemaSample(_v3f(points), self._indices, self._counts, uvs)
        else:
            sample = AbcGeom.OPolyMeshSchemaSample()
            sample.setPositions(_v3f(points))
        if normals is not None:
            sample.setNormals(normals)
        self._mesh.getSchema().set(sample)
        xform = AbcGeom.XformSample()
        xform.setMatrix(matrix)
        self._head.getSchema().set(xform)
        if self._camera is not None:
            self._camera.getSchema().set(FilmBack.from_intrinsics(intrinsics).sample())
        self._samples += 1

    def _write_frame(self, frame: ExportFrame) -> None:
        if self._archive is None:
            self._create(frame.index)
        if frame.held is None:
            self._pending += 1
            return
        with self._alembic_errors():
            for _ in range(self._pending):
                self._sample(frame.held, frame.held.intrinsics)
            self._pending = 0
            self._sample(frame.held, frame.intrinsics)

    @contextlib.contextmanager
    def _alembic_errors(self) -> Iterator[None]:
        """Alembic reports failures (a write error included) as RuntimeError: one line."""
        try:
            yield
        except RuntimeError as exc:
            first = (str(exc).strip().splitlines() or ["Alembic error"])[0]
            raise ExportError(f"cannot write {self.path}: {first}") from None

    def _finish(self) -> None:
        if self._samples == 0:
            raise ExportError(f"cannot export {self.path}: no face was found in any of the "
                              f"{self.frames_written} frames")
        with self._alembic_errors():
            self._release()
        self._verify()
        self._target.commit()

    def _verify(self) -> None:
        """Reopen the finished temporary archive: a full disk would show as a short archive."""
        try:
            archive = Abc.IArchive(str(self._target.temp_path))
            head = AbcGeom.IXform(archive.getTop(), HEAD_XFORM)
            count = AbcGeom.IPolyMesh(head, MESH).getSchema().getNumSamples()
        except RuntimeError:
            count = -1
        finally:
            archive = head = None
        if count != self._samples:
            raise ExportError(f"cannot write {self.path}: the archive did not read back complete "
                              f"(disk full or write error?)")

    def _discard(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._release()
        self._target.abort()


class AlembicExporter(Exporter):
    """One Alembic archive ``NAME.abc`` (see :mod:`app.export.alembic`).

    Args:
        bake_pose: write camera-frame vertices under an identity transform.
        normals: write per-vertex normals (every sample, as the mesh deforms).
        camera: write the capture camera.
    """

    format_name = "Alembic"

    def __init__(self, path: str | os.PathLike, bake_pose: bool = False, normals: bool = True,
                 camera: bool = True):
        super().__init__(Path(path))
        self.bake_pose = bake_pose
        self.normals = normals
        self.camera = camera

    def open(self, *, fps: float, face_model: FaceModel, space: Space = "gl") -> AlembicSession:
        return AlembicSession(self.path, fps=fps, face_model=face_model, space=space,
                              bake_pose=self.bake_pose, normals=self.normals, camera=self.camera)
