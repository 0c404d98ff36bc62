"""MediaPipe's runners (runtime.mediapipe) on renders of the synthetic actor (held-out seeds).

The detector must find the face, and the 468 points must lie on it: the mesh's eye corners,
mouth corners and nose tip near the ground-truth 68 landmarks (the same anatomical points).
"""

from __future__ import annotations

import numpy as np
import pytest

from capture.synthetic import SyntheticSource
from models.crop import FaceCrop, crop_camera, warp_rgb
from runtime.mediapipe import BlazeFaceDetector, FaceLandmarker

pytestmark = pytest.mark.gl

# Multi-PIE 68 index -> MediaPipe mesh index at the same place: eye corners, mouth corners, nose tip.
SAME_POINTS = {36: 33, 39: 133, 42: 362, 45: 263, 48: 61, 54: 291, 30: 4}


@pytest.fixture(scope="module")
def runners() -> tuple[BlazeFaceDetector, FaceLandmarker]:
    return BlazeFaceDetector("short"), FaceLandmarker()


@pytest.mark.parametrize("seed", [1000, 1003, 1006, 1009])
def test_detector_and_landmarks_on_synthetic_renders(runners: tuple[BlazeFaceDetector, FaceLandmarker], seed: int) -> None:
    detector, landmarker = runners
    with SyntheticSource(seed=seed) as source:
        frames = [source.frame_at(i) for i in (0, 25)]
    for frame in frames:
        truth = frame.ground_truth.landmarks_2d.astype(np.float64)
        faces = detector.detect(frame.rgb)
        assert len(faces) == 1
        det = faces[0]
        # The box holds the face: the truth's centre inside it, sizes alike.
        lo, hi = truth.min(axis=0), truth.max(axis=0)
        assert det.box[0] < truth[30, 0] < det.box[2] and det.box[1] < truth[30, 1] < det.box[3]
        assert 0.5 < det.size / (hi - lo).max() < 1.6
        cam = crop_camera(frame.intrinsics, FaceCrop(float(det.centre[0]), float(det.centre[1]), 1.5 * det.size, det.roll), 192)
        result = landmarker.run(warp_rgb(frame.rgb, cam))
        assert result.score > 0.9
        points = cam.crop_to_source_pixels(result.points[:, :2].astype(np.float64))
        eye_distance = np.linalg.norm(truth[45] - truth[36])
        for multipie, mesh in SAME_POINTS.items():
            assert np.linalg.norm(points[mesh] - truth[multipie]) < 0.15 * eye_distance, (multipie, mesh)
