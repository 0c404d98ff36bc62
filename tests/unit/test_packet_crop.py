"""The window draws the crop the pipeline used, taken from the result itself."""

from __future__ import annotations

import math

import numpy as np

from models.camera import Intrinsics
from models.crop import FaceCrop
from models.face_result import FaceResult
from ui.packet import crop_outline

CAMERA = Intrinsics(fx=500.0, fy=500.0, cx=320.0, cy=240.0, width=640, height=480)


def test_the_outline_is_the_results_rotated_crop() -> None:
    crop = FaceCrop(centre_x=300.0, centre_y=200.0, size=100.0, angle=math.pi / 2)
    result = FaceResult(index=0, timestamp=0.0, intrinsics=CAMERA, found=True, crop=crop,
                        landmarks_2d=np.zeros((68, 2), np.float32))
    outline = crop_outline(result)
    assert outline.shape == (5, 2) and np.allclose(outline[0], outline[-1])
    assert np.allclose(outline[:4].mean(axis=0), [300.0, 200.0], atol=1e-4)
    # every side is the crop's size, turned by a quarter: the first side runs along +y
    assert np.allclose(np.linalg.norm(np.diff(outline, axis=0), axis=1), 100.0, atol=1e-3)
    assert np.allclose(outline[1] - outline[0], [0.0, 100.0], atol=1e-3)


def test_without_a_crop_the_outline_frames_the_landmarks() -> None:
    landmarks = np.array([[100.0, 100.0], [200.0, 220.0]], np.float32)
    result = FaceResult(index=0, timestamp=0.0, intrinsics=CAMERA, found=True, landmarks_2d=landmarks)
    outline = crop_outline(result)
    assert np.allclose(outline[:4].mean(axis=0), [150.0, 160.0])
