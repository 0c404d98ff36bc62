"""The eyes of the face model: gaze <-> eyeLook curves, and eyeballs turning with the gaze."""

from __future__ import annotations

import numpy as np
import pytest

from models.arkit_values import CURVE_COUNT, CURVE_NAMES, arkit_values
from models.face_model.eyes import (
    EYEBALL_RANGES,
    LOOK_YAW_RAD,
    EyeCurves,
    eyeball_centres,
    eyeball_triangles,
    posed_eyeballs,
)
from models.face_result import FaceResult


@pytest.fixture(scope="module")
def curves(face_model):
    return EyeCurves(face_model.expression_names)


def test_gaze_round_trips_through_the_curves(curves, face_model):
    gaze = np.array([[0.3, -0.2], [-0.25, 0.35]], np.float32)
    expression = curves.with_eyes(np.zeros(53, np.float32), gaze, np.array([0.2, 0.7]))
    np.testing.assert_allclose(curves.gaze(expression), gaze, atol=1e-6)
    np.testing.assert_allclose(curves.blink_of(expression), [0.2, 0.7], atol=1e-6)
    named = dict(zip(face_model.expression_names, expression, strict=True))
    # left eye to the subject's left: looks out; right eye to the subject's right: looks out too
    assert named["eyeLookOut_L"] > 0 and named["eyeLookIn_L"] == 0
    assert named["eyeLookOut_R"] > 0 and named["eyeLookIn_R"] == 0
    assert named["eyeLookUp_L"] > 0 and named["eyeLookDown_R"] > 0


def test_curves_and_csv_angles_carry_the_same_state(curves, face_model, tmp_path):
    """The ARKit eyeLook curves and the eye yaw/pitch columns agree for a result with gaze."""
    gaze = np.array([[0.2, 0.1], [0.2, 0.1]], np.float32)  # both eyes to the subject's left, down
    expression = curves.with_eyes(np.zeros(53, np.float32), gaze, np.array([1.0, 0.0]))
    result = FaceResult(index=0, timestamp=0.0, intrinsics=None, found=True, expression=expression,
                        gaze=curves.gaze(expression), blink=curves.blink_of(expression))
    values = dict(zip((*CURVE_NAMES, "HY", "HP", "HR", "LY", "LP", "LR", "RY", "RP", "RR"),
                      arkit_values(result, face_model.arkit_matrix), strict=True))
    assert values["EyeBlinkLeft"] == pytest.approx(1.0) and values["EyeBlinkRight"] == 0.0
    assert values["EyeLookOutLeft"] == pytest.approx(0.2 / LOOK_YAW_RAD, rel=1e-5)
    assert values["EyeLookInRight"] == pytest.approx(0.2 / LOOK_YAW_RAD, rel=1e-5)
    assert values["LY"] == pytest.approx(0.2) and values["RP"] == pytest.approx(0.1)
    assert len(values) == CURVE_COUNT + 9


def test_eyeballs_turn_about_their_centres(face_model):
    start, stop = EYEBALL_RANGES[0][0], EYEBALL_RANGES[1][1]
    eyeballs = face_model.vertices(None, None, region="full")[start:stop]
    triangles = eyeball_triangles(face_model.triangles)
    assert triangles.min() >= 0 and triangles.max() < len(eyeballs) and len(triangles) > 1000
    centres = eyeball_centres(eyeballs)
    assert centres[0, 0] > 0 > centres[1, 0]  # the subject's left eye is at +x
    gaze = np.array([[0.3, 0.0], [0.0, 0.4]])
    posed = posed_eyeballs(eyeballs, gaze)
    np.testing.assert_allclose(eyeball_centres(posed), centres, atol=2e-4)
    # the front-most point (the pupil) moves toward +x (yaw, the subject's left) and -y (pitch down)
    left = slice(0, EYEBALL_RANGES[0][1] - start)
    front = np.argmax(eyeballs[left, 2])
    assert posed[left][front, 0] - eyeballs[left][front, 0] > 0.002
    right = slice(EYEBALL_RANGES[1][0] - start, None)
    front = np.argmax(eyeballs[right, 2])
    assert posed[right][front, 1] - eyeballs[right][front, 1] < -0.002
    np.testing.assert_array_equal(posed_eyeballs(eyeballs, None), eyeballs)
