"""Steady tracking takes fewer refinement solves; motion, a new start or a failure take all."""

from __future__ import annotations

import numpy as np
import pytest

from inference.refine import RefineConfig, TakeRefiner
from inference.refine.config import SteadyConfig
from models.camera import Intrinsics
from models.face_model import FaceModel
from models.geometry import head_pose_to_camera
from models.metrics import rasterize_depth

CAMERA = Intrinsics(fx=590.0, fy=590.0, cx=319.5, cy=239.5, width=640, height=480)


@pytest.fixture(scope="module")
def scene(face_model: FaceModel):
    """A turned face 0.55 m away and its depth map (the face region's own z-buffer)."""
    rotation = head_pose_to_camera(np.radians(15.0), np.radians(-5.0), 0.0)
    translation = np.array([0.01, -0.01, 0.55])
    face = face_model.vertices(region="face").astype(np.float64) @ rotation.T + translation
    depth = rasterize_depth(face, face_model.region("face").triangles, CAMERA)
    return rotation, translation, depth


def test_steady_frames_take_the_steady_solves(face_model: FaceModel, scene) -> None:
    rotation, translation, depth = scene
    take = TakeRefiner(face_model, RefineConfig())
    zeros_id, zeros_ex = np.zeros(100, np.float32), np.zeros(53, np.float32)
    start_rotation = head_pose_to_camera(np.radians(18.0), np.radians(-3.0), 0.0)
    fit = take.refine(depth, CAMERA, start_rotation, translation + [0.004, 0.0, 0.005], zeros_id, zeros_ex)
    solves = [fit.iterations]
    for _ in range(3):  # tracking: each frame starts at the previous fit
        assert fit.success
        fit = take.refine(depth, CAMERA, fit.rotation, fit.translation, zeros_id, zeros_ex,
                          expression_start=fit.expression)
        solves.append(fit.iterations)
    config = RefineConfig()
    assert solves == [config.iterations, config.iterations, config.steady.iterations, config.steady.iterations]
    assert take.steady_frames == 2
    assert np.linalg.norm(fit.translation - translation) * 1000 < 1.0  # still on the face
    # A start that is not the previous fit (a new detection) takes every solve.
    other = take.refine(depth, CAMERA, start_rotation, translation, zeros_id, zeros_ex)
    assert other.iterations == config.iterations
    # So does the frame after a fast move.
    moved = take.refine(depth, CAMERA, other.rotation, other.translation + [0.01, 0, 0], zeros_id, zeros_ex)
    assert moved.iterations == config.iterations


def test_steady_mode_can_be_switched_off(face_model: FaceModel, scene) -> None:
    rotation, translation, depth = scene
    take = TakeRefiner(face_model, RefineConfig(steady=SteadyConfig(iterations=0)))
    zeros_id, zeros_ex = np.zeros(100, np.float32), np.zeros(53, np.float32)
    fit = take.refine(depth, CAMERA, rotation, translation, zeros_id, zeros_ex)
    for _ in range(3):
        fit = take.refine(depth, CAMERA, fit.rotation, fit.translation, zeros_id, zeros_ex)
        assert fit.iterations == RefineConfig().iterations
    assert take.steady_frames == 0


@pytest.mark.parametrize("bad", [dict(iterations=-1), dict(iterations=3, rigid_iterations=3)])
def test_steady_config_rejects_bad_values(bad: dict) -> None:
    with pytest.raises(ValueError):
        SteadyConfig(**bad)
