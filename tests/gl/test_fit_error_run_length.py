"""The report's fit error on the embedded synthetic source: visible vertices only, so it
does not grow with head turns or run length (the all-vertex figure did)."""

from __future__ import annotations

import numpy as np
import pytest

from app.metrics_worker import MetricsWorker
from capture.synthetic import SyntheticSource
from models.face_model import REGION_SIZES
from models.face_result import FaceResult
from models.geometry import camera_rotation_to_euler
from models.metrics import fit_error_mm

pytestmark = pytest.mark.gl
NARROW = REGION_SIZES["narrow_face"]


def test_fit_error_of_the_true_mesh_does_not_grow_with_run_length(face_model) -> None:
    worker = MetricsWorker(face_model)
    every_vertex, yaws = [], []
    with SyntheticSource(seed=3) as source:
        for index in range(0, 2000, 125):
            frame = source.frame_at(index)
            truth = frame.ground_truth
            yaws.append(abs(np.degrees(camera_rotation_to_euler(truth.rotation)[0])))
            result = FaceResult(index=index, timestamp=frame.timestamp, intrinsics=frame.intrinsics, found=True,
                                vertices=truth.vertices, mode="rgbd")
            worker.add(frame, result)
            every_vertex.append(fit_error_mm(truth.vertices[:NARROW], frame.depth, frame.intrinsics).mean())
    worker.close()
    fit = np.array(worker.fit_error_mm)
    assert len(fit) == 16 and max(yaws) > 20  # the run turns the head
    assert max(every_vertex) > 2.0  # counting hidden vertices, the true mesh looked several mm off
    assert fit.max() < 1.2  # visible only: the sensor noise, whatever the pose
    early, whole = fit[:3].mean(), fit.mean()  # the first 300 frames, then all 2,000
    assert whole == pytest.approx(early, rel=0.25)
    assert worker.gt_error_mm == pytest.approx([0.0] * 16, abs=1e-6)
