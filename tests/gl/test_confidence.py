"""The depth-agreement confidence on synthetic TrueDepth frames (held-out seed)."""

from __future__ import annotations

import numpy as np
import pytest

from capture.synthetic import SyntheticSource
from inference.confidence import DepthAgreement, DepthAgreementConfig
from models.face_model import FaceModel

pytestmark = pytest.mark.gl


@pytest.fixture(scope="module")
def frame():
    with SyntheticSource(seed=1002) as source:
        return source.frame_at(30)


def test_a_face_in_place_is_confirmed_and_a_slid_one_is_not(face_model: FaceModel, frame) -> None:
    agreement = DepthAgreement(face_model)
    truth = frame.ground_truth
    in_place = agreement(truth.vertices, truth.rotation, frame.depth, frame.intrinsics)
    assert in_place > 0.8
    for size in (0.02, 0.03):
        for shift in np.eye(3) * size:
            slid = agreement(truth.vertices + np.float32(shift), truth.rotation, frame.depth, frame.intrinsics)
            assert slid < 0.5, (shift, slid)  # the pipeline rejects below 0.5


def test_the_tolerance_widens_with_distance_like_stereo_noise(face_model: FaceModel, frame) -> None:
    """The same scene twice as large at twice the distance (~0.9 m: the picture is unchanged),
    with 2.5 mm of depth noise, about a RealSense's at that range."""
    truth = frame.ground_truth
    far_vertices = truth.vertices * np.float32(2.0)
    noise = np.random.default_rng(0).normal(0.0, 0.0025, frame.depth.shape).astype(np.float32)
    far_depth = np.where(frame.depth > 0, frame.depth * np.float32(2.0) + noise, 0.0).astype(np.float32)
    widened = DepthAgreement(face_model)(far_vertices, truth.rotation, far_depth, frame.intrinsics)
    fixed = DepthAgreement(face_model, DepthAgreementConfig(tolerance_per_m2=0.0))(
        far_vertices, truth.rotation, far_depth, frame.intrinsics)
    assert widened > 0.9 > fixed


def test_without_usable_depth_the_confidence_is_zero(face_model: FaceModel, frame) -> None:
    agreement = DepthAgreement(face_model)
    truth = frame.ground_truth
    for depth in (None, np.full_like(frame.depth, np.nan), np.zeros_like(frame.depth)):
        assert agreement(truth.vertices, truth.rotation, depth, frame.intrinsics) == 0.0
    behind_camera = truth.vertices * np.float32([1, 1, -1])
    assert agreement(behind_camera, truth.rotation, frame.depth, frame.intrinsics) == 0.0
