"""Identity that settles over a take: the information-form accumulator and the take refiner."""

from __future__ import annotations

import numpy as np
import pytest

from inference.refine import (
    IdentityAccumulator,
    IdentityConfig,
    IdentityObservation,
    RefineConfig,
    TakeRefiner,
)
from models.camera import truedepth_intrinsics
from models.face_model import FaceModel
from models.geometry import head_pose_to_camera
from models.metrics import rasterize_depth

N = 100


def _observation(mean: np.ndarray, strength: np.ndarray) -> IdentityObservation:
    information = np.diag(strength)
    return IdentityObservation(information, information @ mean)


def test_fusion_is_the_information_weighted_mean() -> None:
    config = IdentityConfig(forgetting=1.0, prior_weight=1e-9)
    accumulator = IdentityAccumulator(N, config)
    assert accumulator.prior() is None and accumulator.count == 0
    a, b = np.full(N, 1.0), np.full(N, 4.0)
    accumulator.add(_observation(a, np.full(N, 3.0)))
    estimate = accumulator.add(_observation(b, np.full(N, 1.0)))
    np.testing.assert_allclose(estimate, (3 * a + 1 * b) / 4, rtol=1e-6)
    prior = accumulator.prior()
    np.testing.assert_allclose(np.diag(prior.information), 4.0, rtol=1e-6)
    assert not prior.frozen and accumulator.count == 2


def test_the_zero_prior_fills_unobserved_directions() -> None:
    accumulator = IdentityAccumulator(N, IdentityConfig(prior_weight=1.0))
    strength = np.zeros(N)
    strength[:10] = 1e6
    estimate = accumulator.add(_observation(np.ones(N), strength))
    np.testing.assert_allclose(estimate[:10], 1.0, rtol=1e-5)
    np.testing.assert_allclose(estimate[10:], 0.0, atol=1e-12)


def test_forgetting_favours_recent_frames() -> None:
    accumulator = IdentityAccumulator(N, IdentityConfig(forgetting=0.5, prior_weight=1e-9))
    for _ in range(20):
        accumulator.add(_observation(np.zeros(N), np.ones(N)))
    for _ in range(3):
        estimate = accumulator.add(_observation(np.ones(N), np.ones(N)))
    # Weights 1 + 0.5 + 0.25 for the new value against 0.125 * (1 + 0.5 + ...) ~ 0.25 for the old.
    assert estimate.mean() == pytest.approx(1.75 / 2.0, rel=1e-3)
    # The held information saturates instead of growing without bound.
    assert np.diag(accumulator.prior().information).max() < 2.0 + 1e-6


def test_convergence_reset_and_bad_observations() -> None:
    config = IdentityConfig(converge_frames=5, converge_window=3, converge_tolerance=0.01, freeze_when_converged=True)
    accumulator = IdentityAccumulator(N, config)
    target = np.linspace(-1, 1, N)
    for k in range(4):
        accumulator.add(_observation(target, np.full(N, 10.0)))
        assert not accumulator.converged, k
    accumulator.add(_observation(target, np.full(N, 10.0)))
    assert accumulator.converged and accumulator.prior().frozen
    before = accumulator.mean.copy()
    accumulator.add(IdentityObservation(np.full((N, N), np.nan), np.zeros(N)))
    np.testing.assert_array_equal(accumulator.mean, before)
    accumulator.reset()
    assert accumulator.count == 0 and not accumulator.converged and accumulator.prior() is None
    assert np.all(accumulator.mean == 0) and accumulator.mean.dtype == np.float32


def test_a_take_settles_identity_on_exact_depth(face_model: FaceModel) -> None:
    """Over a few frames of one exact face turning, the take's identity moves less from frame
    to frame than per-frame identity does, and ends close to the truth."""
    camera = truedepth_intrinsics()
    rng = np.random.default_rng(5)
    identity = (0.8 * rng.standard_normal(100)).astype(np.float32)
    expression = np.zeros(53, np.float32)
    take = TakeRefiner(face_model, RefineConfig(identity=IdentityConfig(observe_every=1)))
    truth = face_model.vertices(identity, region="narrow_face")
    shapes = {"take": [], "frame": []}
    for k, yaw in enumerate(np.linspace(-30, 30, 7)):
        rotation = head_pose_to_camera(np.radians(yaw), np.radians(5.0 * np.sin(k)), 0.0)
        translation = np.array([0.0, 0.0, 0.5])
        skin = face_model.vertices(identity, expression, region="head").astype(np.float64)
        depth = rasterize_depth(skin @ rotation.T + translation, face_model.region("head").triangles, camera)
        noisy_identity = (identity + rng.normal(0, 0.35, 100)).astype(np.float32)
        result = take.refine(depth, camera, rotation, translation, noisy_identity, expression)
        single = take.refiner.refine(depth, camera, rotation, translation, noisy_identity, expression)
        assert result.success and single.success
        shapes["take"].append(face_model.vertices(result.identity, region="narrow_face"))
        shapes["frame"].append(face_model.vertices(single.identity, region="narrow_face"))
    def change(seq):  # mean vertex motion (mm) between consecutive frames
        return np.mean([np.linalg.norm(b - a, axis=1).mean() * 1000 for a, b in zip(seq, seq[1:], strict=False)])
    def error(shape):
        return np.linalg.norm(shape - truth, axis=1).mean() * 1000
    assert take.accumulator.count == 7
    assert change(shapes["take"]) < 0.5 * change(shapes["frame"])
    assert error(shapes["take"][-1]) < np.mean([error(s) for s in shapes["frame"]])
    assert error(shapes["take"][-1]) < 0.5
    take.reset()
    assert take.identity is None and take.accumulator.count == 0
