"""Synthetic performances: deterministic, within the stated ranges, lively, and in view."""

from __future__ import annotations

import numpy as np

from models.camera import truedepth_intrinsics
from models.face_model import FaceModel
from models.geometry import camera_rotation_to_euler
from models.synthetic.motion import FACE_DISTANCE_M, NOSE_TIP_Z_M, Performance

FPS = 30.0


def sample(model: FaceModel, seed: int, seconds: float) -> list:
    performance = Performance(model.expression_names, seed=seed)
    return [performance.state_at(i / FPS) for i in range(int(seconds * FPS))]


def test_same_seed_same_performance_other_seed_other_actor(face_model: FaceModel) -> None:
    a, b = Performance(face_model.expression_names, 4), Performance(face_model.expression_names, 4)
    c = Performance(face_model.expression_names, 5)
    for t in (0.0, 1.3, 77.7):
        sa, sb, sc = a.state_at(t), b.state_at(t), c.state_at(t)
        np.testing.assert_array_equal(sa.expression, sb.expression)
        np.testing.assert_array_equal(sa.rotation, sb.rotation)
        assert not np.array_equal(sa.rotation, sc.rotation)
    assert not np.array_equal(a.identity, c.identity)


def test_head_motion_covers_the_stated_ranges(face_model: FaceModel) -> None:
    states = [s for seed in range(3) for s in sample(face_model, seed, 120)]
    angles = np.degrees([camera_rotation_to_euler(s.rotation) for s in states])
    yaw, pitch, roll = np.abs(angles).max(0)
    assert 25 < yaw <= 40.01 and 12 < pitch <= 25.01 and 7 < roll <= 15.01
    nose = np.array([s.translation[2] - NOSE_TIP_Z_M for s in states])
    assert FACE_DISTANCE_M[0] - 0.02 < nose.min() and nose.max() < FACE_DISTANCE_M[1] + 0.02
    assert nose.max() - nose.min() > 0.15


def test_expressions_blink_talk_and_smile(face_model: FaceModel) -> None:
    states = sample(face_model, 0, 30)
    weights = np.array([s.expression for s in states])
    assert weights.min() >= 0 and weights.max() <= 1
    names = face_model.expression_names
    blink = weights[:, names.index("eyeBlink_L")]
    closures = np.sum((blink[1:] > 0.9) & (blink[:-1] <= 0.9))
    assert 4 <= closures <= 15, "a blink every few seconds"
    assert weights[:, names.index("jawOpen")].max() > 0.3
    # Smooth: no jumps between consecutive frames apart from blinks.
    steps = np.abs(np.diff(np.delete(weights, [names.index("eyeBlink_L"), names.index("eyeBlink_R")], 1), axis=0))
    assert steps.max() < 0.2


def test_face_stays_in_view(face_model: FaceModel) -> None:
    camera = truedepth_intrinsics()
    landmarks = face_model.landmark_indices
    for state in sample(face_model, 2, 60)[::5]:
        head = face_model.vertices(state.identity, state.expression, region="narrow_face")[landmarks]
        uv = camera.project(head @ state.rotation.T + state.translation)
        assert (uv[:, 0] > 0).all() and (uv[:, 0] < camera.width).all()
        assert (uv[:, 1] > 0).all() and (uv[:, 1] < camera.height).all()
