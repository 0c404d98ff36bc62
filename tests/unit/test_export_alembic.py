"""Alembic export read back with alembic3d: samples, topology, UVs, normals, time, pose, camera."""

from __future__ import annotations

import numpy as np
import pytest
from alembic3d import Abc, AbcGeom

from app.export import AlembicExporter, ExportError, FilmBack, exporter_for
from app.export.alembic import CAMERA, CAMERA_XFORM, HEAD_XFORM, MESH, SENSOR_WIDTH_MM
from app.export.mesh import face_topology
from app.export.samples import synthetic_results
from models.camera import Intrinsics

FPS = 30.0
GL = np.diag([1.0, -1.0, -1.0])


class AbcTake:
    """An exported archive, read back."""

    def __init__(self, path):
        self.archive = Abc.IArchive(str(path))
        top = self.archive.getTop()
        self.children = [top.getChild(i).getName() for i in range(top.getNumChildren())]
        self.head = AbcGeom.IXform(top, HEAD_XFORM)
        self.mesh = AbcGeom.IPolyMesh(self.head, MESH).getSchema()
        self.num_samples = self.mesh.getNumSamples()
        self.sampling = self.mesh.getTimeSampling()

    def selector(self, k: int) -> Abc.ISampleSelector:
        return Abc.ISampleSelector(self.sampling.getSampleTime(k), Abc.ISampleSelector.TimeIndexType.kNearIndex)

    def positions(self, k: int) -> np.ndarray:
        return np.array(self.mesh.getValue(self.selector(k)).getPositions(), dtype=np.float64)

    def matrix(self, k: int) -> np.ndarray:
        m = self.head.getSchema().getValue(self.selector(k)).getMatrix()
        return np.array([[m[i][j] for j in range(4)] for i in range(4)])

    def world(self, k: int) -> np.ndarray:
        """Positions after the transform (row vectors: p * M)."""
        p = self.positions(k)
        return np.c_[p, np.ones(len(p))] @ self.matrix(k)[:, :3]

    def camera(self):
        xform = AbcGeom.IXform(self.archive.getTop(), CAMERA_XFORM)
        return xform, AbcGeom.ICamera(xform, CAMERA).getSchema()


@pytest.fixture(scope="module")
def take(face_model):
    return synthetic_results(face_model, 12, FPS, missing={4, 5})


@pytest.fixture(scope="module")
def exported(tmp_path_factory, face_model, take):
    path = tmp_path_factory.mktemp("abc") / "take.abc"
    exporter_for(path).export(take, fps=FPS, face_model=face_model)
    return AbcTake(path)


def test_one_sample_per_source_frame_at_the_take_rate(exported, take):
    assert exported.num_samples == len(take)
    kind = exported.sampling.getTimeSamplingType()
    assert kind.isUniform()
    assert kind.getTimePerCycle() == pytest.approx(1 / FPS)
    assert exported.sampling.getSampleTime(0) == pytest.approx(0.0)
    assert exported.sampling.getSampleTime(7) == pytest.approx(7 / FPS)
    assert exported.head.getSchema().getNumSamples() == len(take)
    assert set(exported.children) == {HEAD_XFORM, CAMERA_XFORM}


def test_topology_once_with_clockwise_faces_and_indexed_uvs(exported, face_model):
    topo = face_topology(face_model)
    sample = exported.mesh.getValue(exported.selector(0))
    counts = np.array(sample.getFaceCounts())
    indices = np.array(sample.getFaceIndices())
    assert len(counts) == len(topo.triangles) and (counts == 3).all()
    np.testing.assert_array_equal(indices.reshape(-1, 3), topo.triangles[:, ::-1])
    # topology written once: later samples repeat it, only the positions change
    assert exported.mesh.getFaceIndicesProperty().isConstant()
    assert exported.mesh.getFaceCountsProperty().isConstant()
    assert exported.mesh.getTopologyVariance() == AbcGeom.MeshTopologyVariance.kHomogenousTopology
    assert not exported.mesh.getPositionsProperty().isConstant()
    assert exported.positions(0).shape == (9409, 3)

    uv_param = exported.mesh.getUVsParam()
    assert uv_param.isIndexed()
    assert uv_param.getScope() == AbcGeom.GeometryScope.kFacevaryingScope
    assert uv_param.isConstant()
    uv = uv_param.getIndexedValue(exported.selector(0))
    values = np.array([[v[0], v[1]] for v in uv.getVals()])
    uv_index = np.array(uv.getIndices())
    region = face_model.region("face")
    expected = face_model.uvs[region.triangle_uvs[:, ::-1].ravel()]
    np.testing.assert_allclose(values[uv_index], expected, atol=1e-7)


def test_positions_times_transform_are_the_gl_camera_mesh(exported, take):
    for k, result in enumerate(take):
        source = result if result.found else take[3]  # frames 4 and 5 repeat frame 3
        expected = source.vertices.astype(np.float64) @ GL
        np.testing.assert_allclose(exported.world(k), expected, atol=1e-6)


def test_head_space_vertices_and_pose(exported, take, face_model):
    result = take[2]
    m = exported.matrix(2)
    np.testing.assert_allclose(m[:3, :3].T, GL @ result.rotation, atol=1e-12)
    np.testing.assert_allclose(m[3, :3], GL @ result.translation, atol=1e-12)
    np.testing.assert_allclose(m[:, 3], [0, 0, 0, 1])
    # head frame = the face model's own frame: the model's shape with this frame's coefficients
    head = face_model.vertices(result.identity, result.expression, region="face")
    np.testing.assert_allclose(exported.positions(2), head, atol=1e-6)


def reference_normals(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    p = points.astype(np.float64)
    face = np.cross(p[triangles[:, 1]] - p[triangles[:, 0]], p[triangles[:, 2]] - p[triangles[:, 0]])
    normals = np.zeros_like(p)
    for corner in range(3):
        np.add.at(normals, triangles[:, corner], face)
    return normals / np.linalg.norm(normals, axis=1, keepdims=True)


def test_normals_every_sample_unit_and_outward(exported, face_model):
    param = exported.mesh.getNormalsParam()
    assert param.getNumSamples() == exported.num_samples and not param.isConstant()
    assert param.getScope() == AbcGeom.GeometryScope.kVertexScope
    normals = np.array(param.getExpandedValue(exported.selector(6)).getVals(), dtype=np.float64)
    assert normals.shape == (9409, 3)
    expected = reference_normals(exported.positions(6), face_topology(face_model).triangles)
    np.testing.assert_allclose(normals, expected, atol=1e-4)
    assert normals.mean(axis=0)[2] > 0.3  # head frame: z points out of the face


def test_capture_camera_at_the_origin(exported, take):
    xform, camera = exported.camera()
    np.testing.assert_allclose(np.array(xform.getSchema().getValue().getMatrix()), np.eye(4))
    sample = camera.getValue(exported.selector(0))
    intr = take[0].intrinsics
    # focal / sensor width = fx / image width; Alembic: focal length in mm, apertures in cm
    assert sample.getHorizontalAperture() == pytest.approx(SENSOR_WIDTH_MM / 10)
    assert sample.getFocalLength() / (10 * sample.getHorizontalAperture()) == pytest.approx(intr.fx / intr.width)
    assert sample.getFocalLength() / (10 * sample.getVerticalAperture()) == pytest.approx(intr.fy / intr.height)
    assert sample.getFieldOfView() == pytest.approx(np.degrees(2 * np.arctan(intr.width / 2 / intr.fx)), rel=1e-6)
    assert sample.getHorizontalFilmOffset() == pytest.approx(0.0, abs=1e-12)  # cx = (w - 1) / 2


def test_film_back_offsets_follow_the_principal_point():
    intr = Intrinsics(fx=500.0, fy=550.0, cx=300.0, cy=260.0, width=640, height=480)
    back = FilmBack.from_intrinsics(intr)
    assert back.focal_length_mm == pytest.approx(500 * 36 / 640)
    assert back.vertical_aperture_cm * 10 == pytest.approx(back.focal_length_mm * 480 / 550)
    # principal point left of centre -> the view is shifted right (positive offset)
    assert back.horizontal_offset_cm == pytest.approx((320 - 300.5) * 36 / 640 / 10)
    # principal point below centre (larger v) -> the view is shifted up (positive offset)
    assert back.vertical_offset_cm == pytest.approx((260.5 - 240) * (back.vertical_aperture_cm / 480))


def test_opencv_space_and_camera_turned_half_round(tmp_path, face_model, take):
    path = tmp_path / "cv.abc"
    AlembicExporter(path).export(take, fps=FPS, face_model=face_model, space="opencv")
    back = AbcTake(path)
    np.testing.assert_allclose(back.world(1), take[1].vertices, atol=1e-6)
    xform, _ = back.camera()
    m = np.array(xform.getSchema().getValue().getMatrix())
    np.testing.assert_allclose(m, np.diag([1.0, -1.0, -1.0, 1.0]), atol=1e-12)


def test_bake_pose_writes_camera_vertices_under_identity(tmp_path, face_model, take):
    path = tmp_path / "baked.abc"
    exporter_for(path, bake_pose=True).export(take, fps=FPS, face_model=face_model)
    back = AbcTake(path)
    for k in (0, 3, 4, 11):
        np.testing.assert_allclose(back.matrix(k), np.eye(4))
        source = take[k] if take[k].found else take[3]
        np.testing.assert_allclose(back.positions(k), source.vertices @ GL, atol=1e-6)
    normals = np.array(back.mesh.getNormalsParam().getExpandedValue(back.selector(0)).getVals())
    assert normals.mean(axis=0)[2] > 0.3  # gl: the face looks at the viewer (+z)


def test_frames_before_the_first_face_repeat_it_and_start_time_follows_the_index(tmp_path, face_model):
    results = synthetic_results(face_model, 6, FPS, missing={10, 11}, start_index=10)
    path = tmp_path / "late.abc"
    exporter_for(path).export(results, fps=FPS, face_model=face_model)
    back = AbcTake(path)
    assert back.num_samples == 6
    assert back.sampling.getSampleTime(0) == pytest.approx(10 / FPS)
    for k in (0, 1, 2):
        np.testing.assert_allclose(back.world(k), results[2].vertices @ GL, atol=1e-6)


def test_no_face_at_all_is_an_error_and_leaves_nothing(tmp_path, face_model):
    results = synthetic_results(face_model, 3, FPS, missing={0, 1, 2})
    with pytest.raises(ExportError, match=r"no face was found in any of the 3 frames"):
        exporter_for(tmp_path / "none.abc").export(results, fps=FPS, face_model=face_model)
    assert list(tmp_path.iterdir()) == []


def test_without_normals_and_camera(tmp_path, face_model, take):
    path = tmp_path / "bare.abc"
    AlembicExporter(path, normals=False, camera=False).export(take[:3], fps=FPS, face_model=face_model)
    back = AbcTake(path)
    assert back.children == [HEAD_XFORM]
    assert not back.mesh.getNormalsParam().valid()
