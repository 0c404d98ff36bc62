"""Fixtures of the rendering tests: one renderer, an off-centre camera, posed face meshes."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from models.camera import Intrinsics
from models.face_model import FaceModel
from models.geometry import head_pose_to_camera
from models.render import AlbedoModel, MeshRenderer

WIDTH, HEIGHT = 640, 480


@pytest.fixture(scope="session")
def intrinsics() -> Intrinsics:
    """A 640x480 camera with unequal focal lengths and a principal point off the centre, so
    that a swapped axis or a half-pixel slip shows."""
    return Intrinsics(fx=600.0, fy=585.0, cx=331.3, cy=228.6, width=WIDTH, height=HEIGHT)


@pytest.fixture(scope="session")
def renderer() -> Iterator[MeshRenderer]:
    with MeshRenderer(WIDTH, HEIGHT) as r:
        yield r


@pytest.fixture(scope="session")
def albedo_model(face_model: FaceModel) -> AlbedoModel:
    return AlbedoModel.from_face_model(face_model)


def posed_head(face_model: FaceModel, yaw_deg: float, pitch_deg: float = 0.0, distance: float = 0.45) -> np.ndarray:
    """The neutral head region (N, 3) float32 in the camera frame, turned and 0.45 m away."""
    rotation = head_pose_to_camera(np.radians(yaw_deg), np.radians(pitch_deg), 0.0)
    head = face_model.vertices(region="head").astype(np.float64)
    return (head @ rotation.T + np.array([0.004, -0.01, distance])).astype(np.float32)
