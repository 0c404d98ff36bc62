"""The depth-agreement confidence on synthetic TrueDepth frames (held-out seed)."""

from __future__ import annotations

import numpy as np
import pytest

from capture.synthetic import SyntheticSource
from inference.confidence import DepthAgreement
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
    for shift in ([0.03, 0, 0], [0, 0.03, 0], [0, 0, 0.03]):
        slid = agreement(truth.vertices + np.float32(shift), truth.rotation, frame.depth, frame.intrinsics)
        assert slid < 0.5, (shift, slid)  # the pipeline rejects below 0.5


def test_without_usable_depth_the_confidence_is_zero(face_model: FaceModel, frame) -> None:
    agreement = DepthAgreement(face_model)
    truth = frame.ground_truth
    for depth in (None, np.full_like(frame.depth, np.nan), np.zeros_like(frame.depth)):
        assert agreement(truth.vertices, truth.rotation, depth, frame.intrinsics) == 0.0
    behind_camera = truth.vertices * np.float32([1, 1, -1])
    assert agreement(behind_camera, truth.rotation, frame.depth, frame.intrinsics) == 0.0
