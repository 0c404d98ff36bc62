"""Depth refinement on noisy synthetic TrueDepth frames (held-out seeds >= 1000)."""

from __future__ import annotations

import numpy as np
import pytest

from capture.synthetic import SyntheticSource
from inference.refine import DepthRefiner, TakeRefiner
from inference.refine.rotation import axis_angle_to_matrix
from models.face_model import REGION_SIZES, FaceModel
from models.geometry import camera_rotation_to_euler
from models.metrics import vertex_error_mm

pytestmark = pytest.mark.gl

NARROW = REGION_SIZES["narrow_face"]
IDENTITY_NOISE = 0.8  # ~2.9 mm mean narrow-face vertex error on its own


def narrow_mesh(model: FaceModel, rotation, translation, identity, expression) -> np.ndarray:
    head = model.vertices(identity, expression, region="narrow_face").astype(np.float64)
    return head @ np.asarray(rotation).T + np.asarray(translation)


def perturbed_start(truth, rng: np.random.Generator):
    """The ground truth off by 2-5 degrees, 5-10 mm, expression noise (sd 0.1) and identity
    noise (sd 0.8: about 3 mm of shape error), as a network's estimate might be."""
    axis = rng.standard_normal(3)
    turn = axis_angle_to_matrix(axis / np.linalg.norm(axis) * np.radians(rng.uniform(2.0, 5.0)))
    shift = rng.standard_normal(3)
    translation = truth.translation + shift / np.linalg.norm(shift) * rng.uniform(0.005, 0.010)
    expression = np.clip(truth.expression + rng.normal(0, 0.1, truth.expression.shape), 0, 1).astype(np.float32)
    identity = (truth.identity + rng.normal(0, IDENTITY_NOISE, truth.identity.shape)).astype(np.float32)
    return turn @ truth.rotation, translation, identity, expression


@pytest.fixture(scope="module")
def refiner(face_model: FaceModel) -> DepthRefiner:
    return DepthRefiner(face_model)


def test_refinement_brings_noisy_frames_under_a_millimetre(face_model: FaceModel, refiner: DepthRefiner) -> None:
    rng = np.random.default_rng(2024)
    before, after, yaws = [], [], []
    for seed in (1000, 1001, 1002, 1003):
        with SyntheticSource(seed=seed) as source:
            for index in (0, 45, 90):
                frame = source.frame_at(index)
                truth = frame.ground_truth
                start = perturbed_start(truth, rng)
                result = refiner.refine(frame.depth, frame.intrinsics, *start)
                assert result.success, result.reason
                gt = truth.vertices[:NARROW]
                before.append(vertex_error_mm(narrow_mesh(face_model, *start), gt).mean())
                after.append(vertex_error_mm(narrow_mesh(face_model, result.rotation, result.translation,
                                                         result.identity, result.expression), gt).mean())
                yaws.append(np.degrees(camera_rotation_to_euler(truth.rotation)[0]))
    assert max(np.abs(yaws)) > 25.0, "the frames should include turned heads"
    assert np.mean(before) > 5.0
    assert np.mean(after) < 1.0, np.round(after, 2)
    assert all(a < b / 3 for a, b in zip(after, before, strict=True))


def test_noisy_depth_without_a_face_fails_cleanly(refiner: DepthRefiner) -> None:
    with SyntheticSource(seed=1004) as source:
        frame = source.frame_at(10)
    truth = frame.ground_truth
    background = np.where(np.isfinite(frame.depth) & (frame.depth > 1.0), frame.depth, 0).astype(np.float32)
    for depth in (background, np.full_like(frame.depth, np.nan)):
        result = refiner.refine(depth, frame.intrinsics, truth.rotation, truth.translation, truth.identity,
                                truth.expression)
        assert not result.success and result.reason
        np.testing.assert_array_equal(result.translation, truth.translation)


def test_identity_settles_over_a_moving_take(face_model: FaceModel, refiner: DepthRefiner) -> None:
    """Over 30 frames of a moving, noisy sequence with noisy per-frame estimates, the take's
    identity changes far less from frame to frame than per-frame identity, and is closer to
    the truth."""
    rng = np.random.default_rng(7)
    take = TakeRefiner(face_model, refiner=refiner)
    shapes: dict[str, list[np.ndarray]] = {"take": [], "frame": []}
    with SyntheticSource(seed=1010) as source:
        for index in range(0, 90, 3):
            frame = source.frame_at(index)
            truth = frame.ground_truth
            start = perturbed_start(truth, rng)
            for name, result in (("take", take.refine(frame.depth, frame.intrinsics, *start)),
                                 ("frame", refiner.refine(frame.depth, frame.intrinsics, *start))):
                assert result.success, result.reason
                shapes[name].append(face_model.vertices(result.identity, region="narrow_face"))
    true_shape = face_model.vertices(truth.identity, region="narrow_face")

    def change_mm(seq):
        return float(np.mean([vertex_error_mm(b, a).mean() for a, b in zip(seq, seq[1:], strict=False)]))

    def error_mm(seq):
        return float(np.mean([vertex_error_mm(s, true_shape).mean() for s in seq]))

    assert take.accumulator.count >= 10
    assert change_mm(shapes["take"][10:]) < 0.25 * change_mm(shapes["frame"][10:])
    assert error_mm(shapes["take"][-10:]) < error_mm(shapes["frame"][-10:])
    assert error_mm(shapes["take"][-10:]) < 0.6


def test_a_previous_fit_lets_refinement_follow_a_wide_open_jaw(face_model: FaceModel, refiner: DepthRefiner) -> None:
    """From the network's closed-mouth guess a few steps cannot reach an open jaw; from the
    previous frame's fit (``expression_start``) they can, while the guess stays the prior."""
    with SyntheticSource(seed=1001) as source:  # the jaw opens wide around frame 108
        previous, frame = source.frame_at(105), source.frame_at(108)
    truth, before = frame.ground_truth, previous.ground_truth
    jaw = face_model.expression_names.index("jawOpen")
    assert truth.expression[jaw] > 0.4
    closed = np.full(53, 0.05, np.float32)
    args = (frame.depth, frame.intrinsics, before.rotation, before.translation, truth.identity, closed)
    cold = refiner.refine(*args)
    warm = refiner.refine(*args, expression_start=before.expression)
    assert warm.success
    gt = truth.vertices[:NARROW]
    error = {name: vertex_error_mm(narrow_mesh(face_model, r.rotation, r.translation, r.identity, r.expression),
                                   gt).mean() for name, r in (("cold", cold), ("warm", warm))}
    assert abs(warm.expression[jaw] - truth.expression[jaw]) < 0.1
    assert error["warm"] < 1.0 and error["warm"] < error["cold"] / 2, error


def test_the_decoder_corrective_is_part_of_the_fitted_surface(face_model: FaceModel, refiner: DepthRefiner) -> None:
    """A corrective that moves the face 2 mm forward is fitted as part of the surface: the
    pose comes back 2 mm behind the truth, so the decoded mesh lands on the depth."""
    with SyntheticSource(seed=1002) as source:
        frame = source.frame_at(20)
    truth = frame.ground_truth
    offset = np.zeros((truth.vertices.shape[0], 3), np.float32)
    offset[:, 2] = 0.002  # head frame +z: out of the face
    start = (frame.depth, frame.intrinsics, truth.rotation, truth.translation, truth.identity, truth.expression)
    plain = refiner.refine(*start)
    shifted = refiner.refine(*start, corrective=offset)
    assert plain.success and shifted.success
    forward = truth.rotation @ np.array([0.0, 0.0, 0.002])
    moved = shifted.translation - plain.translation
    assert np.linalg.norm(moved + forward) < 0.0006, (moved, forward)
