"""Landmark fit: pose, expression and identity from the model's own 68 landmarks (synthetic truth)."""

from __future__ import annotations

import numpy as np
import pytest

from inference.landmark_fit import (
    LandmarkFitConfig,
    LandmarkFitter,
    LandmarkTake,
    SurfaceBasis,
    SurfacePoints,
)
from inference.refine.rotation import rotation_angle_deg
from models.camera import truedepth_intrinsics
from models.geometry import head_pose_to_camera

K = truedepth_intrinsics()


@pytest.fixture(scope="module")
def fitter(face_model):
    return LandmarkFitter(SurfaceBasis(face_model, SurfacePoints.at_vertices(face_model.landmark_indices)))


def truth(face_model, rng, identity=None):
    identity = rng.normal(0, 1, 100) if identity is None else identity
    expression = np.zeros(53)
    expression[face_model.expression_names.index("jawOpen")] = rng.uniform(0, 0.8)
    expression[face_model.expression_names.index("mouthSmile_L")] = rng.uniform(0, 0.8)
    rotation = head_pose_to_camera(*rng.uniform(-0.4, 0.4, 3))
    translation = np.array([0.02, -0.01, 0.5])
    points = face_model.vertices(identity, expression, "full")[face_model.landmark_indices] @ rotation.T + translation
    return identity, expression, rotation, translation, K.project(points)


def test_surface_points_blend_vertices(face_model):
    points = SurfacePoints(np.array([[0, 1, 2]], np.int32), np.array([[0.2, 0.3, 0.5]], np.float32))
    expected = 0.2 * face_model.template[0] + 0.3 * face_model.template[1] + 0.5 * face_model.template[2]
    np.testing.assert_allclose(points.blend(face_model.template)[0], expected, atol=1e-7)
    basis = SurfaceBasis(face_model, points)
    a, e = np.linspace(-1, 1, 100), np.linspace(0, 1, 53)
    model_points = face_model.vertices(a, e, "full")[:3]
    np.testing.assert_allclose(basis.head_points(a, e)[0], 1000 * (points.barycentrics[0] @ model_points), atol=1e-3)
    with pytest.raises(ValueError):
        SurfacePoints(np.zeros((2, 3), np.int32), np.zeros((3, 3), np.float32))


def test_pose_and_expression_from_a_perturbed_start(face_model):
    # a cold start (6 degrees, a centimetre off): two rigid solves first
    fitter = LandmarkFitter(SurfaceBasis(face_model, SurfacePoints.at_vertices(face_model.landmark_indices)),
                            LandmarkFitConfig(iterations=8, rigid_iterations=2))
    rng = np.random.default_rng(1)
    jaw = face_model.expression_names.index("jawOpen")
    for _ in range(5):
        identity, expression, rotation, translation, pixels = truth(face_model, rng)
        noisy = pixels + rng.normal(0, 0.3, pixels.shape)
        start = head_pose_to_camera(*rng.uniform(-0.1, 0.1, 3)) @ rotation
        result = fitter.fit(noisy, K, start, translation + [0.005, 0.005, 0.01], identity, np.zeros(53))
        assert rotation_angle_deg(result.rotation, rotation) < 1.5
        assert result.residual_px < 1.0
        assert abs(result.expression[jaw] - expression[jaw]) < 0.12
        assert np.all((result.expression >= 0) & (result.expression <= 1))


def test_outliers_are_down_weighted_and_zero_weights_dropped(face_model):
    rng = np.random.default_rng(2)
    fitter = LandmarkFitter(SurfaceBasis(face_model, SurfacePoints.at_vertices(face_model.landmark_indices)),
                            LandmarkFitConfig(loss="tukey"))
    identity, _, rotation, translation, pixels = truth(face_model, rng)
    corrupted = pixels.copy()
    corrupted[:6] += 60.0  # six points far off (a hand over the jaw)
    result = fitter.fit(corrupted, K, rotation, translation, identity, np.zeros(53), iterations=8)
    assert rotation_angle_deg(result.rotation, rotation) < 1.5
    weights = np.ones(68)
    weights[:6] = 0.0
    dropped = fitter.fit(corrupted, K, rotation, translation, identity, np.zeros(53), weights=weights)
    assert dropped.residual_px < 0.5


def test_identity_settles_over_a_take(face_model, fitter):
    rng = np.random.default_rng(3)
    true_identity = rng.normal(0, 1, 100)
    take = LandmarkTake(fitter)
    neutral = face_model.vertices(np.zeros(100), None, "narrow_face")
    target = face_model.vertices(true_identity, None, "narrow_face")
    for _ in range(30):
        _, expression, rotation, translation, pixels = truth(face_model, rng, true_identity)
        result = take.fit(pixels, K, rotation, translation, np.zeros(100), expression)
    settled = face_model.vertices(take.identity, None, "narrow_face")
    before = np.linalg.norm(neutral - target, axis=1).mean()
    after = np.linalg.norm(settled - target, axis=1).mean()
    assert after < 0.8 * before, (before, after)
    assert result.identity.shape == (100,)
