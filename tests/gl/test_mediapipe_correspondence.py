"""The committed 468-point correspondence (assets/mediapipe_to_ict.npz): well formed, and MediaPipe's
points on renders it was not built from land where their surface points project."""

from __future__ import annotations

import numpy as np
import pytest

from inference.landmark_fit import SurfacePoints
from models.face_model import REGION_SIZES
from runtime.mediapipe import FaceLandmarker
from training.mediapipe_correspondence import DEFAULT_ASSET, closest_surface_points, observe, synthetic_frames

pytestmark = pytest.mark.gl
HELD_OUT_SEEDS = range(3000, 3003)  # the asset was built from seeds 2000-2011


@pytest.fixture(scope="module")
def asset():
    with np.load(DEFAULT_ASSET) as data:
        return {key: data[key] for key in data.files}


def test_asset_is_468_points_on_the_face_surface(asset):
    triangles, barycentrics = asset["triangles"], asset["barycentrics"]
    assert triangles.shape == (468, 3) and barycentrics.shape == (468, 3)
    assert triangles.min() >= 0 and triangles.max() < REGION_SIZES["face"]
    assert np.all(barycentrics >= 0)
    np.testing.assert_allclose(barycentrics.sum(axis=1), 1.0, atol=1e-5)
    assert asset["spread_mm"].shape == (468,) and asset["hits"].min() >= 0


def test_snapping_finds_the_surface(face_model):
    vertices = np.array([100, 2000, 5000])
    inside = face_model.template[vertices].astype(np.float64) + 1e-4 * np.array([0.0, 0.0, 1.0])
    triangles, barycentrics = closest_surface_points(face_model, inside)
    snapped = SurfacePoints(triangles, barycentrics).blend(face_model.template)
    assert np.linalg.norm(snapped - face_model.template[vertices], axis=1).max() < 2e-4


def test_reprojection_on_held_out_renders(asset, face_model):
    points = SurfacePoints(asset["triangles"], asset["barycentrics"])
    frames = list(synthetic_frames(HELD_OUT_SEEDS, 3))
    landmarker = FaceLandmarker()
    errors = []
    for frame in frames:
        seen = next(iter(observe([frame], face_model, landmarker)), None)
        if seen is None:  # the landmark model turned the face down
            continue
        truth = frame.ground_truth
        full = face_model.vertices(truth.identity, truth.expression, "full") @ truth.rotation.T + truth.translation
        projected = frame.intrinsics.project(points.blend(full))
        inter_ocular = np.linalg.norm(truth.landmarks_2d[36] - truth.landmarks_2d[45])
        errors.append(np.linalg.norm(projected - seen.points_px, axis=1) / inter_ocular)
    assert len(errors) >= len(frames) - 1
    errors = np.array(errors)
    assert np.median(errors) < 0.04, "median reprojection within 4 % of the inter-ocular distance"
    assert np.percentile(errors, 90) < 0.10
