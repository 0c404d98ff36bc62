"""Eyes from the iris model: eyelid targets, blink from the lid opening, gaze from the iris centre."""

from __future__ import annotations

import numpy as np
import pytest

from app.config import ASSETS_DIR
from inference.landmark_fit.colour import CORRESPONDENCE_FILE, ColourFace, ColourFit, load_correspondence
from inference.landmark_fit.eyes import (
    EYELID_MESH_INDICES,
    BlinkEstimator,
    GazeEstimator,
    eye_opening,
    with_eyelids,
)
from inference.refine.rotation import rotation_angle_deg
from models.camera import truedepth_intrinsics
from models.errors import ModelError
from models.face_model.eyes import EyeCurves, gaze_rotation
from models.geometry import head_pose_to_camera


def contour(opening: float) -> np.ndarray:
    """(2, 71, 2) a lid contour 30 px wide whose lids stand ``opening`` x the width apart."""
    x = np.linspace(0, 30, 9)
    lids = np.zeros((71, 2))
    lids[:9, 0] = x  # lower lid, outer corner to inner
    lids[9:16, 0] = x[1:8]  # upper lid
    lids[9:16, 1] = -opening * 30
    return np.stack([lids, lids + 100])


def test_eyelids_replace_the_mesh_eye_contour():
    points = np.zeros((468, 2))
    eyes = contour(0.3)
    out = with_eyelids(points, eyes)
    np.testing.assert_allclose(out[EYELID_MESH_INDICES[0]], eyes[0, :16])
    np.testing.assert_allclose(out[EYELID_MESH_INDICES[1]], eyes[1, :16])
    assert np.count_nonzero(np.abs(out).sum(axis=1)) == 31  # the rest untouched (one point at 0, 0)
    np.testing.assert_array_equal(with_eyelids(points, None), points)


def test_blink_from_the_opening_against_the_takes_open_eye():
    np.testing.assert_allclose(eye_opening(contour(0.3)), [0.3, 0.3])
    blink = BlinkEstimator(window=30)
    for _ in range(20):
        assert np.all(blink(contour(0.3)) == 0.0)
    assert np.all(blink(contour(0.3 * 0.45)) == pytest.approx(1.0))
    half = blink(contour(0.3 * (1 - 0.55 / 2)))
    assert np.all(np.abs(half - 0.5) < 0.05)
    blink.reset()
    assert np.all(blink(contour(0.1)) == 0.0)  # a new take: its first frame is its own reference


def test_gaze_from_a_projected_iris(face_model):
    k = truedepth_intrinsics()
    estimator = GazeEstimator(face_model)
    identity = np.random.default_rng(0).normal(0, 1, 100)
    centres, radii = estimator.eyes(identity)
    rotation, translation = head_pose_to_camera(0.3, -0.1, 0.05), np.array([0.01, 0.02, 0.45])
    truth = np.array([[0.25, -0.1], [0.2, 0.15]])
    iris = np.zeros((2, 5, 2))
    for eye in range(2):
        front = centres[eye] + gaze_rotation(*truth[eye]) @ np.array([0.0, 0.0, radii[eye]])
        iris[eye, 0] = k.project(rotation @ front + translation)
    np.testing.assert_allclose(estimator(iris, k, rotation, translation, identity), truth, atol=2e-3)


def test_a_missing_or_corrupt_correspondence_is_one_clear_error(tmp_path, face_model):
    points, weights = load_correspondence(ASSETS_DIR / CORRESPONDENCE_FILE, face_model)
    assert len(points) == 468 and weights.shape == (468,) and np.all((weights > 0) & (weights <= 1))
    with pytest.raises(ModelError, match="mediapipe_to_ict.npz"):
        load_correspondence(tmp_path / CORRESPONDENCE_FILE, face_model)
    (tmp_path / CORRESPONDENCE_FILE).write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="cannot read"):
        load_correspondence(tmp_path / CORRESPONDENCE_FILE, face_model)
    np.savez(tmp_path / "bad.npz", triangles=np.zeros((5, 3), np.int32), barycentrics=np.zeros((5, 3)),
             spread_mm=np.zeros(5))
    with pytest.raises(ModelError, match="malformed"):
        load_correspondence(tmp_path / "bad.npz", face_model)


def test_colour_fit_follows_the_points_and_writes_the_eyes(face_model):
    """ColourFit on MediaPipe-like points projected from a known face: the pose and the jaw come
    back, the eye curves carry the measured blink and gaze."""
    k = truedepth_intrinsics()
    fit = ColourFit(face_model, ASSETS_DIR)
    rng = np.random.default_rng(4)
    identity = rng.normal(0, 0.8, 100)
    expression = np.zeros(53)
    jaw = face_model.expression_names.index("jawOpen")
    expression[jaw] = 0.6
    rotation, translation = head_pose_to_camera(0.2, 0.1, 0.0), np.array([0.0, 0.01, 0.5])
    full = face_model.vertices(identity, expression, "full").astype(np.float64) @ rotation.T + translation
    points = k.project(fit.points.blend(full))
    # eyes: open contours first (the take's open eye), then closed lids; the iris straight ahead
    estimator = GazeEstimator(face_model)
    centres, radii = estimator.eyes(identity)
    iris = np.zeros((2, 5, 2))
    for eye in range(2):
        iris[eye, 0] = k.project(rotation @ (centres[eye] + [0.0, 0.0, radii[eye]]) + translation)
    # the iris model's lids where the face's are; closed: the upper lid down on the lower one
    opened = np.zeros((2, 71, 2))
    opened[:, :16] = points[EYELID_MESH_INDICES]
    closed = opened.copy()
    closed[:, 9:16] = 0.9 * opened[:, 1:8] + 0.1 * opened[:, 9:16]
    for _ in range(5):
        result = fit.fit(ColourFace(points, opened, iris), k, rotation, translation, identity * 0,
                         np.zeros(53), cold=True)
    result = fit.fit(ColourFace(points, closed, iris), k, result.rotation, result.translation,
                     identity * 0, np.zeros(53))
    assert rotation_angle_deg(result.rotation, rotation) < 2.0
    assert abs(result.expression[jaw] - 0.6) < 0.15
    eyes = EyeCurves(face_model.expression_names)
    np.testing.assert_allclose(eyes.blink_of(result.expression), [1.0, 1.0])
    # ahead: the eyeballs placed from the seen eye corners, whatever the fitted identity
    assert np.abs(eyes.gaze(result.expression)).max() < np.deg2rad(4.0)


def test_eyeballs_anchored_at_the_seen_corners(face_model):
    """With the mean face seen, the anchored centres are its own, whatever identity was fitted."""
    k = truedepth_intrinsics()
    fit = ColourFit(face_model, ASSETS_DIR)
    estimator = fit.gaze
    rotation, translation = head_pose_to_camera(-0.25, 0.1, 0.1), np.array([0.02, 0.0, 0.4])
    corners_mean = fit._corners_mean
    seen = np.stack([k.project(corners_mean[eye] @ rotation.T + translation) for eye in range(2)])
    wrong = np.random.default_rng(5).normal(0, 1.5, 100)  # a fitted identity far from the truth
    corners_head = fit._corners.head_points(wrong, np.zeros(53)).reshape(2, 2, 3) / 1000.0
    centres = estimator.anchored(corners_mean, corners_head, seen, k, rotation, translation)
    truth, _ = estimator.eyes(None)
    # only the depth of the wrong face's corners differs: a small error along the ray
    assert np.linalg.norm(centres - truth, axis=1).max() < 2e-3
    assert np.linalg.norm(estimator.eyes(wrong)[0] - truth, axis=1).max() > \
        np.linalg.norm(centres - truth, axis=1).max()
