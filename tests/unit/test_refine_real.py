"""Depth refinement on a real TrueDepth portrait (shared data): head tilted far back, glasses,
Apple-filtered depth. The fit must not fall apart; the benchmark prints the figures."""

from __future__ import annotations

import numpy as np
import pytest

from inference.refine import DepthRefiner, RefineConfig
from inference.refine.bootstrap import coarse_fit, nearest_face_anchor
from models.camera import Intrinsics
from models.face_model import FaceModel
from models.geometry import camera_rotation_to_euler
from models.metrics import ErrorSummary, fit_error_mm


@pytest.fixture(scope="module")
def portrait(real_portrait) -> tuple[np.ndarray, Intrinsics]:
    return real_portrait.depth, real_portrait.intrinsics


def test_the_face_anchor_is_on_the_head_not_the_shoulders(portrait) -> None:
    depth, intrinsics = portrait
    anchor = nearest_face_anchor(depth, intrinsics)
    u, v = intrinsics.project(anchor)
    # The chin and nose are around the image's centre column, in its upper half; the
    # shoulders at the bottom edge are nearer but are not the face.
    assert 180 < u < 300 and 180 < v < 330
    assert nearest_face_anchor(np.zeros_like(depth), intrinsics) is None


def test_a_fit_from_the_depth_alone_holds_together(portrait, face_model: FaceModel) -> None:
    depth, intrinsics = portrait
    rough = coarse_fit(face_model, depth, intrinsics)
    assert rough is not None and rough.success
    result = DepthRefiner(face_model, RefineConfig(iterations=10)).refine(
        depth, intrinsics, rough.rotation, rough.translation, rough.identity, rough.expression)
    assert result.success, result.reason
    yaw, pitch, roll = np.degrees(camera_rotation_to_euler(result.rotation))
    assert -75 < pitch < -35, "the head is tilted far back"
    assert abs(yaw) < 20 and abs(roll) < 20
    assert 0.40 < result.translation[2] < 0.55  # head origin ~13 cm behind a face at ~36 cm
    assert result.residual_mm < 1.5
    narrow = face_model.vertices(result.identity, result.expression, region="narrow_face").astype(np.float64)
    narrow = narrow @ result.rotation.T + result.translation
    every = ErrorSummary.of(fit_error_mm(narrow, depth, intrinsics))
    seen = ErrorSummary.of(fit_error_mm(narrow, depth, intrinsics,
                                        triangles=face_model.region("narrow_face").triangles))
    assert every.median < 3.0
    assert seen.mean < 2.5 and seen.median < 1.5
    assert seen.count > 2000
