"""The report's fit error: visible narrow-face vertices only, measured off the pipeline thread."""

from __future__ import annotations

import numpy as np
import pytest

from app.metrics_worker import MetricsWorker
from models.camera import Intrinsics
from models.face_model import REGION_SIZES, FaceModel
from models.face_result import FaceResult
from models.frame import Frame
from models.geometry import head_pose_to_camera
from models.metrics import face_fit_error_mm, fit_error_mm, rasterize_depth, visible_vertices

CAMERA = Intrinsics(fx=590.0, fy=590.0, cx=319.5, cy=239.5, width=640, height=480)
NARROW = REGION_SIZES["narrow_face"]


def _turned_face(face_model: FaceModel, yaw_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """The neutral face region (9409, 3) turned by ``yaw_deg`` 0.5 m away, and the depth map
    (480, 640) of its narrow face (exact: the mesh's own z-buffer)."""
    rotation = head_pose_to_camera(np.radians(yaw_deg), 0.0, 0.0)
    face = face_model.vertices(region="face").astype(np.float64) @ rotation.T + [0.0, 0.0, 0.6]
    depth = rasterize_depth(face[:NARROW], face_model.region("narrow_face").triangles, CAMERA)
    return face, depth


def _result(vertices: np.ndarray, mode: str = "rgbd") -> FaceResult:
    return FaceResult(index=0, timestamp=0.0, intrinsics=CAMERA, found=True,
                      vertices=vertices.astype(np.float32), mode=mode)


def test_a_hidden_vertex_does_not_count(face_model: FaceModel) -> None:
    face, depth = _turned_face(face_model, 55.0)
    seen = visible_vertices(face[:NARROW], face_model.region("narrow_face").triangles, CAMERA)
    assert 0.2 * NARROW < (~seen).sum() < 0.8 * NARROW  # the far cheek is behind the nose
    base = face_fit_error_mm(face_model, face, depth, CAMERA)
    assert 0 < base.size <= seen.sum()
    assert base.mean() < 0.5  # on its own depth map, up to the pixel grid
    triangles = face_model.region("narrow_face").triangles
    beside_seen = np.zeros(NARROW, bool)
    beside_seen[triangles[seen[triangles].any(axis=1)].ravel()] = True
    hidden = np.flatnonzero(~beside_seen)  # hidden, and no triangle shared with a seen vertex
    assert hidden.size > 0.1 * NARROW
    moved = face.copy()
    # Push them 3 cm further along their rays: still hidden, so they do not count.
    moved[hidden] *= (1 + 0.03 / np.linalg.norm(moved[hidden], axis=1))[:, None]
    every = fit_error_mm(moved[:NARROW], depth, CAMERA)  # without the visibility test
    assert every.max() > 20.0
    after = face_fit_error_mm(face_model, moved, depth, CAMERA)
    assert after.max() == pytest.approx(base.max()) and after.mean() == pytest.approx(base.mean(), abs=0.01)
    # Moving a visible vertex does change the figure.
    visible = np.flatnonzero(seen)[::50]
    moved[visible, 2] += 0.01
    assert face_fit_error_mm(face_model, moved, depth, CAMERA).mean() > base.mean() + 0.01


def test_worker_reports_the_visible_fit_error_per_frame(face_model: FaceModel) -> None:
    worker = MetricsWorker(face_model)
    frames = []
    for yaw in (0.0, 30.0, -50.0):
        face, depth = _turned_face(face_model, yaw)
        frames.append(face)
        worker.add(Frame(index=0, timestamp=0.0, intrinsics=CAMERA, depth=depth), _result(face))
    worker.add(Frame(index=0, timestamp=0.0, intrinsics=CAMERA, depth=depth), _result(face, mode="rgb"))
    worker.close()
    assert len(worker.fit_error_mm) == 3 and worker.fit_skipped == 0
    assert max(worker.fit_error_mm) < 0.5  # a turned head's hidden cheek adds nothing
    assert worker.latest_fit_mm == worker.fit_error_mm[-1]
    assert worker.gt_error_mm == []  # no ground truth on these frames


def test_worker_skips_frames_rather_than_queueing_them(face_model: FaceModel) -> None:
    face, depth = _turned_face(face_model, 10.0)
    frame = Frame(index=0, timestamp=0.0, intrinsics=CAMERA, depth=depth)
    worker = MetricsWorker(face_model, backlog=1, min_interval_s=3600.0, keep=4)
    for _ in range(5):
        worker.add(frame, _result(face))
    worker.close()
    assert len(worker.fit_error_mm) == 1  # one measurement per interval
    assert worker.fit_error_mm[0] == pytest.approx(face_fit_error_mm(face_model, face, depth, CAMERA).mean())
