"""The report's fit error: visible narrow-face vertices only, measured off the pipeline thread."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from app.metrics_worker import LiveFitError, MetricsWorker
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
    for yaw in (0.0, 30.0, -50.0):
        face, depth = _turned_face(face_model, yaw)
        worker.add(Frame(index=0, timestamp=0.0, intrinsics=CAMERA, depth=depth), _result(face))
    worker.add(Frame(index=0, timestamp=0.0, intrinsics=CAMERA, depth=depth), _result(face, mode="rgb"))
    assert worker.fit_error_mm == []  # measured after the run, off the pipeline's way
    worker.close()
    assert len(worker.fit_error_mm) == 3 and worker.measurable_frames == 3
    assert max(worker.fit_error_mm) < 0.5  # a turned head's hidden cheek adds nothing
    assert worker.gt_error_mm == []  # no ground truth on these frames


def test_worker_keeps_an_evenly_spaced_sample_of_a_long_run(face_model: FaceModel) -> None:
    face, depth = _turned_face(face_model, 10.0)
    worker = MetricsWorker(face_model, sample=8)
    kept = []
    for index in range(100):
        worker.add(Frame(index=index, timestamp=index / 30, intrinsics=CAMERA, depth=depth), _result(face))
    kept = [frame.index for _, frame, _ in worker._kept]
    assert 4 <= len(kept) <= 8 and kept[0] == 0
    assert len(set(np.diff(kept))) == 1 and kept[-1] >= 100 - 2 * (kept[1] - kept[0])  # even, to the end
    worker.close()
    assert len(worker.fit_error_mm) == len(kept)
    assert worker.fit_error_mm[0] == pytest.approx(face_fit_error_mm(face_model, face, depth, CAMERA).mean())


def test_live_figure_measures_the_newest_frame_at_most_every_interval(face_model: FaceModel) -> None:
    live = LiveFitError(face_model, interval_s=3600.0, keep=4)
    frames = [_turned_face(face_model, yaw) for yaw in (0.0, 40.0)]
    live.offer(Frame(index=0, timestamp=0.0, intrinsics=CAMERA, depth=frames[0][1]), _result(frames[0][0]))
    deadline = 0
    while not live.figures and deadline < 600:
        threading.Event().wait(0.05)
        deadline += 1
    for _ in range(5):  # within the interval: not measured
        live.offer(Frame(index=1, timestamp=0.0, intrinsics=CAMERA, depth=frames[1][1]), _result(frames[1][0]))
    live.close()
    assert len(live.figures) == 1
    assert live.figures[0] == pytest.approx(face_fit_error_mm(face_model, *frames[0], CAMERA).mean())
