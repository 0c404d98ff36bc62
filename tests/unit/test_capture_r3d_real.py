"""A real TrueDepth frame (shared data) written as an .r3d and read back."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from capture.base import Mode
from capture.r3d import R3DSource
from capture.r3d_writer import R3DWriter
from models.camera import Intrinsics


@pytest.fixture(scope="module")
def portrait(real_portrait) -> tuple[np.ndarray, np.ndarray, Intrinsics]:
    rgb, depth, intrinsics = real_portrait.rgb, real_portrait.depth, real_portrait.intrinsics
    assert rgb.shape == (640, 480, 3) and depth.shape == (640, 480) and depth.dtype == np.float32
    return rgb, depth, intrinsics


def test_real_truedepth_frame_round_trip(tmp_path, portrait):
    rgb, depth, intrinsics = portrait
    with R3DWriter(tmp_path / "portrait.r3d", 480, 640, 30.0, intrinsics) as writer:
        writer.write(rgb, depth, 12.5)
        writer.write(rgb, depth, 12.5 + 1 / 30)
    with R3DSource(tmp_path / "portrait.r3d") as source:
        assert source.modes == frozenset(Mode) and source.num_frames == 2
        frames = list(source)
    for frame in frames:
        assert frame.size == (480, 640)
        assert frame.intrinsics == intrinsics
        np.testing.assert_array_equal(frame.depth, depth)
        assert np.abs(frame.rgb.astype(int) - rgb).mean() < 2.5
    assert [f.timestamp for f in frames] == pytest.approx([0.0, 1 / 30])
    valid = depth > 0
    assert 0.25 < frames[0].depth[valid].min() < 0.6 < frames[0].depth[valid].max() < 2.0  # a face up close


def test_real_frame_with_colour_at_twice_the_depth_grid(tmp_path, portrait):
    """Like Record3D: larger colour, depth at the grid of the shared intrinsics."""
    rgb, depth, intrinsics = portrait
    big = cv2.resize(rgb, (960, 1280), interpolation=cv2.INTER_CUBIC)
    with R3DWriter(tmp_path / "portrait.r3d", 960, 1280, 30.0, intrinsics.scaled(960, 1280),
                   depth_size=(480, 640)) as writer:
        writer.write(big, depth, 0.0)
    with R3DSource(tmp_path / "portrait.r3d") as source:
        assert source.metadata.rgb_size == (960, 1280) and source.metadata.depth_size == (480, 640)
        [frame] = list(source)
    got = frame.intrinsics
    assert (got.width, got.height) == (480, 640)
    assert (got.fx, got.fy, got.cx, got.cy) == pytest.approx(
        (intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy), abs=1e-9)
    np.testing.assert_array_equal(frame.depth, depth)
    assert np.abs(frame.rgb.astype(int) - rgb).mean() < 4
    # the nose-tip region: a valid depth pixel back-projects to a point in front of the camera
    v, u = np.argwhere(frame.depth > 0)[len(np.argwhere(frame.depth > 0)) // 2]
    z = frame.depth[v, u]
    point = np.array([(u - got.cx) * z / got.fx, (v - got.cy) * z / got.fy, z])
    np.testing.assert_allclose(got.project(point), [u, v], atol=1e-6)
