"""One Euro smoothing: less jitter at rest, little lag in fast motion, rotations stay rotations."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from inference.smoothing import FaceSmoother, OneEuroConfig, OneEuroFilter, SmoothingConfig

FPS = 30.0


def test_jitter_at_rest_is_reduced() -> None:
    rng = np.random.default_rng(0)
    f = OneEuroFilter(OneEuroConfig(min_cutoff=1.0, beta=0.0))
    noisy = 0.5 + rng.normal(0, 0.01, 300)
    out = np.array([f(np.array([v]), i / FPS)[0] for i, v in enumerate(noisy)])
    assert out[30:].std() < noisy[30:].std() / 3


def test_fast_motion_lags_less_with_beta() -> None:
    t = np.arange(60) / FPS
    ramp = 2.0 * t  # 2 units per second
    lag = {}
    for beta in (0.0, 5.0):
        f = OneEuroFilter(OneEuroConfig(min_cutoff=1.0, beta=beta))
        out = np.array([f(np.array([v]), ti)[0] for v, ti in zip(ramp, t, strict=True)])
        lag[beta] = ramp[-1] - out[-1]
    assert lag[5.0] < lag[0.0] / 3


def test_face_smoother_keeps_rotations_valid_across_the_quaternion_sign_flip() -> None:
    smoother = FaceSmoother(SmoothingConfig())
    identity, expression = np.zeros(100, np.float32), np.full(53, 0.2, np.float32)
    for i, angle in enumerate(np.linspace(170, 190, 20)):  # crosses 180 degrees: q flips sign
        rotation = Rotation.from_euler("y", angle, degrees=True).as_matrix()
        r, t, _, e = smoother(rotation, np.zeros(3), identity, expression, i / FPS)
        np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-9)
        assert abs(np.linalg.det(r) - 1) < 1e-9
        assert e.min() >= 0 and e.max() <= 1
    final = Rotation.from_matrix(r).as_euler("yxz", degrees=True)[0] % 360
    assert 175 < final < 191


def test_disabled_smoothing_is_the_identity() -> None:
    smoother = FaceSmoother(SmoothingConfig(enabled=False))
    rotation = Rotation.from_euler("x", 10, degrees=True).as_matrix()
    out = smoother(rotation, np.ones(3), np.zeros(100), np.zeros(53), 0.0)
    assert out[0] is rotation
