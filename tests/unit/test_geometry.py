"""Intrinsics, depth to XYZ and head rotations."""

from __future__ import annotations

import numpy as np
import pytest

from models.camera import Intrinsics
from models.frame import Frame
from models.geometry import (
    camera_rotation_to_euler,
    depth_to_points,
    depth_to_xyz,
    head_pose_to_camera,
)

CAMERA = Intrinsics(fx=600.0, fy=610.0, cx=319.5, cy=239.5, width=640, height=480)


def test_depth_to_xyz_inverts_projection_and_masks_invalid_pixels() -> None:
    depth = np.full((480, 640), 0.5, dtype=np.float32)
    depth[10, 20] = np.nan
    depth[11, 21] = 0.0
    depth[12, 22] = np.inf
    depth[13, 23] = -1.0
    xyz, valid = depth_to_xyz(depth, CAMERA)
    assert xyz.shape == (480, 640, 3) and xyz.dtype == np.float32
    assert valid.sum() == 480 * 640 - 4
    assert not valid[10, 20] and not valid[11, 21] and not valid[12, 22] and not valid[13, 23]
    assert np.all(xyz[~valid] == 0) and np.isfinite(xyz).all()
    v, u = 100, 400
    np.testing.assert_allclose(CAMERA.project(xyz[v, u]), [u, v], atol=1e-3)
    assert depth_to_points(depth, CAMERA).shape == (480 * 640 - 4, 3)


def test_depth_to_xyz_window_equals_the_slice_of_the_whole_map() -> None:
    depth = np.random.default_rng(0).uniform(0.3, 0.8, (480, 640)).astype(np.float32)
    depth[50:60, 100:110] = np.nan
    whole, whole_valid = depth_to_xyz(depth, CAMERA)
    part, part_valid = depth_to_xyz(depth, CAMERA, window=(90, 40, 300, 200))
    assert part.shape == (160, 210, 3) and part_valid.shape == (160, 210)
    np.testing.assert_array_equal(part, whole[40:200, 90:300])
    np.testing.assert_array_equal(part_valid, whole_valid[40:200, 90:300])
    with pytest.raises(ValueError, match="not inside"):
        depth_to_xyz(depth, CAMERA, window=(0, 0, 641, 10))


def test_depth_to_xyz_rejects_a_grid_of_the_wrong_size() -> None:
    with pytest.raises(ValueError, match="320x240 but the intrinsics are for 640x480"):
        depth_to_xyz(np.ones((240, 320), np.float32), CAMERA)


def test_scaled_intrinsics_keep_the_same_rays() -> None:
    half = CAMERA.scaled(320, 240)
    point = np.array([0.05, -0.02, 0.4])
    np.testing.assert_allclose(half.project(point), (CAMERA.project(point) + 0.5) / 2 - 0.5, atol=1e-9)


def test_head_rotation_round_trip_and_frontal_convention() -> None:
    frontal = head_pose_to_camera(0, 0, 0)
    np.testing.assert_allclose(frontal @ [0, 1, 0], [0, -1, 0], atol=1e-12)  # head up is image up
    np.testing.assert_allclose(frontal @ [0, 0, 1], [0, 0, -1], atol=1e-12)  # the face looks at the camera
    for angles in [(0.3, -0.2, 0.1), (-0.6, 0.4, -0.25)]:
        rotation = head_pose_to_camera(*angles)
        np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)
        np.testing.assert_allclose(camera_rotation_to_euler(rotation), angles, atol=1e-9)


def test_frame_checks_shapes() -> None:
    rgb = np.zeros((480, 640, 3), np.uint8)
    frame = Frame(index=0, timestamp=0.0, intrinsics=CAMERA, rgb=rgb)
    assert frame.size == (640, 480)
    with pytest.raises(ValueError, match="depth must be 640x480 float32"):
        Frame(index=0, timestamp=0.0, intrinsics=CAMERA, depth=np.zeros((480, 640), np.float64))
    with pytest.raises(ValueError, match="needs colour, depth or both"):
        Frame(index=0, timestamp=0.0, intrinsics=CAMERA)
