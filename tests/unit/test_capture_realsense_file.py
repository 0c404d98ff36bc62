"""Playing RealSense recordings that the real SDK writes here, from a software device."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest

from capture.base import CaptureError, Mode
from capture.realsense_file import RealSenseFileSource, parse_realsense_file
from models.camera import Intrinsics
from tests.unit.realsense_fakes import Camera, gradient_rgb, sphere_depth, write_recording

pytest.importorskip("pyrealsense2", reason="pyrealsense2 is a runtime dependency on x86_64")

DEPTH_CAM = Camera(width=64, height=48, fx=60.0, fy=61.0, ppx=31.5, ppy=23.5)
BIG_COLOR_CAM = Camera(width=128, height=96, fx=120.0, fy=122.0, ppx=63.5, ppy=47.5)
UNITS = 0.0001  # 0.1 mm, as a D405 records (not the 1 mm default, so the scale must come from the file)
N = 10
STAMPS_MS = [5_000.0 + 33.3 * i for i in range(N)]


def raw_depth(camera: Camera, index: int) -> np.ndarray:
    """z16 frame ``index``: the sphere scene, pushed ``index`` mm further away; 0 stays 0."""
    metres = sphere_depth(camera)
    raw = np.round(metres / UNITS).astype(np.uint16)
    return np.where(raw > 0, raw + np.uint16(10 * index), np.uint16(0)).astype(np.uint16)


def metres(raw: np.ndarray, scale: float = UNITS) -> np.ndarray:
    return raw.astype(np.float32) * np.float32(scale)


def neighbourhoods(image: np.ndarray) -> np.ndarray:
    """(9, H, W): each pixel's value and its 8 neighbours' (edges padded with NaN)."""
    padded = np.pad(image.astype(np.float64), 1, constant_values=np.nan)
    h, w = image.shape
    return np.stack([padded[dv:dv + h, du:du + w] for dv in range(3) for du in range(3)])


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("realsense")
    depth = [raw_depth(DEPTH_CAM, i) for i in range(N)]
    color = [gradient_rgb(DEPTH_CAM, i) for i in range(N)]
    return {
        "rgbd": write_recording(root / "rgbd", depth=depth, color=color, depth_camera=DEPTH_CAM,
                                color_camera=DEPTH_CAM, timestamps_ms=STAMPS_MS, color_offset_ms=1.5,
                                depth_units=UNITS),
        "big_color": write_recording(root / "big_color", depth=depth,
                                     color=[gradient_rgb(BIG_COLOR_CAM, i) for i in range(N)],
                                     depth_camera=DEPTH_CAM, color_camera=BIG_COLOR_CAM,
                                     timestamps_ms=STAMPS_MS, depth_units=UNITS, compress=False),
        "depth_only": write_recording(root / "depth_only", depth=depth, depth_camera=DEPTH_CAM,
                                      timestamps_ms=STAMPS_MS, depth_units=UNITS),
        "color_only_bgr": write_recording(root / "color_only", color=[c[..., ::-1] for c in color],
                                          color_camera=DEPTH_CAM, timestamps_ms=STAMPS_MS, color_format="bgr8"),
    }


def read_all(path: Path) -> tuple[RealSenseFileSource, list]:
    source = RealSenseFileSource(path)
    with source:
        frames = list(source)
    return source, frames


def test_the_sdk_writes_a_container_it_plays_back(recordings: dict[str, Path]) -> None:
    # librealsense <= 2.56 writes ROS 1 .bag; 2.57+ refuses .bag and writes ROS 2 .db3 (SQLite).
    path = recordings["rgbd"]
    assert path.suffix in (".bag", ".db3")
    head = path.read_bytes()[:16]
    if path.suffix == ".db3":
        assert head == b"SQLite format 3\x00"
    else:
        assert head.startswith(b"#ROSBAG V2.0")
    assert parse_realsense_file(str(path)) is not None


def test_rgbd_recording_plays_every_frame_once_in_order(recordings: dict[str, Path]) -> None:
    source, frames = read_all(recordings["rgbd"])
    assert source.modes == frozenset(Mode)
    assert source.default_mode is Mode.RGBD
    assert source.fps == 30.0
    if recordings["rgbd"].suffix == ".db3":
        assert source.num_frames == N
    assert [f.index for f in frames] == list(range(N))
    expected_t = [(t - STAMPS_MS[0]) / 1000 for t in STAMPS_MS]
    np.testing.assert_allclose([f.timestamp for f in frames], expected_t, atol=1e-6)
    for i, frame in enumerate(frames):
        # Blue encodes the frame number: each depth frame is paired with its own colour frame.
        np.testing.assert_array_equal(frame.rgb, gradient_rgb(DEPTH_CAM, i))


def test_rgbd_depth_is_in_metres_from_the_recorded_depth_scale(recordings: dict[str, Path]) -> None:
    _, frames = read_all(recordings["rgbd"])
    for i, frame in enumerate(frames):
        expected = metres(raw_depth(DEPTH_CAM, i))
        assert frame.depth.dtype == np.float32 and frame.depth.shape == (DEPTH_CAM.height, DEPTH_CAM.width)
        landed = frame.depth > 0
        # The same viewpoint and grid: align copies depth over, except that its splatting
        # leaves the odd seam of pixels empty and, along a seam, may take a neighbour's depth.
        assert landed.sum() >= 0.9 * (expected > 0).sum()
        exact = np.isclose(frame.depth, expected, rtol=0, atol=1e-6) & landed
        assert exact.sum() >= 0.98 * landed.sum()
        near = np.isclose(neighbourhoods(expected), frame.depth[None], rtol=0, atol=1e-6).any(axis=0)
        assert near[landed].all()
        assert not frame.depth[:4, :4].any()  # no depth stays no depth
    assert frames[0].depth.max() == pytest.approx(0.8, abs=1e-4)  # the wall, 0.8 m away


def test_frames_carry_the_colour_intrinsics(recordings: dict[str, Path]) -> None:
    _, frames = read_all(recordings["rgbd"])
    assert frames[0].intrinsics == Intrinsics(fx=60.0, fy=61.0, cx=31.5, cy=23.5, width=64, height=48)


def test_depth_is_aligned_onto_a_larger_colour_grid(recordings: dict[str, Path]) -> None:
    source, frames = read_all(recordings["big_color"])
    assert len(frames) == N
    frame = frames[3]
    c = BIG_COLOR_CAM
    assert frame.intrinsics == Intrinsics(fx=c.fx, fy=c.fy, cx=c.ppx, cy=c.ppy, width=c.width, height=c.height)
    assert frame.depth.shape == (c.height, c.width) and frame.rgb.shape == (c.height, c.width, 3)
    np.testing.assert_array_equal(frame.rgb, gradient_rgb(c, 3))
    # Same viewpoint: the colour camera sees the same sphere, 3 mm further (frame 3).
    expected = np.where(sphere_depth(c) > 0, sphere_depth(c) + 0.003, 0.0)
    both = (frame.depth > 0) & (expected > 0)
    assert both.mean() > 0.9
    error = np.abs(frame.depth[both] - expected[both])
    assert np.median(error) < 0.001
    assert np.percentile(error, 95) < 0.01


def test_depth_only_recording(recordings: dict[str, Path]) -> None:
    source, frames = read_all(recordings["depth_only"])
    assert source.modes == frozenset({Mode.DEPTH})
    assert len(frames) == N
    for i, frame in enumerate(frames):
        assert frame.rgb is None
        np.testing.assert_allclose(frame.depth, metres(raw_depth(DEPTH_CAM, i)), atol=1e-6)  # no align: exact
    assert frames[0].intrinsics.fx == 60.0
    with pytest.raises(CaptureError, match=r"cannot serve mode 'rgb' \(it offers depth\)"):
        source.check_mode(Mode.RGB)


def test_colour_only_recording_in_bgr_cannot_serve_depth(recordings: dict[str, Path]) -> None:
    source, frames = read_all(recordings["color_only_bgr"])
    assert source.modes == frozenset({Mode.RGB})
    assert len(frames) == N
    for i, frame in enumerate(frames):
        assert frame.depth is None
        np.testing.assert_array_equal(frame.rgb, gradient_rgb(DEPTH_CAM, i))  # back in RGB order
    with pytest.raises(CaptureError, match=r"cannot serve mode 'depth' \(it offers rgb\)"):
        source.check_mode(Mode.DEPTH)


def test_closing_mid_file_is_quick_and_the_file_plays_again(recordings: dict[str, Path]) -> None:
    source = RealSenseFileSource(recordings["rgbd"])
    source.open()
    frames = iter(source)
    next(frames)
    next(frames)
    start = time.monotonic()
    source.close()
    source.close()  # twice is fine
    assert time.monotonic() - start < 2.0
    assert list(frames) == []  # a closed source ends its iterator
    with source:
        assert len(list(source)) == N
    start = time.monotonic()
    with source:
        pass  # opened and closed without reading a frame
    assert time.monotonic() - start < 2.0


def test_missing_file(tmp_path: Path) -> None:
    source = RealSenseFileSource(tmp_path / "nowhere.bag")
    with pytest.raises(CaptureError, match="no such file: .*nowhere.bag"):
        source.open()
    with pytest.raises(CaptureError, match="no such file"):
        _ = source.modes


@pytest.mark.parametrize("name, content", [
    ("noise.bag", bytes(range(256)) * 20),
    ("noise.db3", bytes(range(256)) * 20),
    ("empty.bag", b""),
])
def test_corrupt_file_names_the_file(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CaptureError) as info:
        RealSenseFileSource(path).open()
    message = str(info.value)
    assert name in message and "\n" not in message


def test_truncated_recording_names_the_file(recordings: dict[str, Path], tmp_path: Path) -> None:
    original = recordings["rgbd"]
    path = tmp_path / f"cut{original.suffix}"
    path.write_bytes(original.read_bytes()[:9000])
    with pytest.raises(CaptureError, match="cut"):
        RealSenseFileSource(path).open()


def test_a_database_that_is_not_a_recording(tmp_path: Path) -> None:
    path = tmp_path / "other.db3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
    with pytest.raises(CaptureError, match="other.db3"):
        RealSenseFileSource(path).open()


@pytest.mark.parametrize("spec, expected", [
    ("take.bag", "take.bag"), ("dir/take.DB3", "take.DB3"), (" take.BAG ", "take.BAG"),
    ("take.r3d", None), ("realsense", None), ("bag", None),
])
def test_parse_realsense_file(spec: str, expected: str | None) -> None:
    source = parse_realsense_file(spec)
    assert (source.name if source else None) == expected
