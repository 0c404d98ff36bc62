"""The live RealSense source against a fake of the pyrealsense2 interface (no camera here)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import pytest

from capture import realsense
from capture.base import CaptureError, DeviceInfo, Mode
from capture.realsense import RealSenseSource, list_realsense_devices, parse_realsense
from models.camera import Intrinsics
from tests.unit.realsense_fakes import Camera, FakeCamera, FakeRealSense, FakeWorld, align_depth

DEPTH_CAM = Camera(width=64, height=48, fx=58.0, fy=58.0, ppx=32.2, ppy=24.1)
COLOR_CAM = Camera(width=64, height=48, fx=50.0, fy=50.5, ppx=31.0, ppy=23.0)
SCALE = 0.00025  # not the usual 1 mm, so the source must ask the depth sensor


def raw_depth(seed: int):
    def make(i: int) -> np.ndarray:
        v, u = np.mgrid[0:48, 0:64]
        return ((u * 7 + v * 11 + 100 * i + seed) % 4000 + 1000).astype(np.uint16)
    return make


def rgb(seed: int):
    def make(i: int) -> np.ndarray:
        image = np.zeros((48, 64, 3), np.uint8)
        image[..., 0] = np.arange(64, dtype=np.uint8)[None, :] * 2
        image[..., 1] = (i * 17 + seed) % 256
        image[..., 2] = seed
        return image
    return make


def camera(serial: str, seed: int = 0, **kwargs) -> FakeCamera:
    return FakeCamera(name="Intel RealSense D435", serial=serial, depth_scale=SCALE, depth_camera=DEPTH_CAM,
                      color_camera=COLOR_CAM, raw_depth=raw_depth(seed), rgb=rgb(seed), **kwargs)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeWorld]:
    world = FakeWorld()
    monkeypatch.setattr(realsense, "rs", FakeRealSense(world))
    yield world
    for pipeline in world.pipelines:  # no producer thread outlives its test
        assert not pipeline.started, "a pipeline was left running"


def test_frames_are_aligned_scaled_to_metres_and_on_the_colour_intrinsics(world: FakeWorld) -> None:
    world.cameras.append(camera("111"))
    source = RealSenseSource(width=64, height=48, fps=30)
    assert source.modes == frozenset(Mode) and source.default_mode is Mode.RGBD
    with source:
        frames = list(itertools.islice(source, 5))
    assert world.pipelines[-1].stopped
    # Compared only now: the SDK (and the fake) reuse frame buffers, so uncopied arrays would
    # hold later frames by this point.
    for i, frame in enumerate(frames):
        assert frame.index == i
        assert frame.timestamp == pytest.approx(i / 30, abs=1e-9)
        assert frame.intrinsics == Intrinsics(fx=50.0, fy=50.5, cx=31.0, cy=23.0, width=64, height=48)
        expected = align_depth(raw_depth(0)(i), shift=3).astype(np.float32) * np.float32(SCALE)
        assert frame.depth.dtype == np.float32
        np.testing.assert_allclose(frame.depth, expected, rtol=1e-6)
        assert not frame.depth[:, :3].any()  # where the aligned depth has no data
        np.testing.assert_array_equal(frame.rgb, rgb(0)(i))


def test_a_serial_picks_its_camera(world: FakeWorld) -> None:
    world.cameras += [camera("111", seed=1), camera("222", seed=2)]
    source = parse_realsense("realsense:222,width=64,height=48")
    with source:
        frame = next(iter(source))
    assert source.name == "realsense:222"
    assert frame.rgb[0, 0, 2] == 2
    assert world.pipelines[-1].camera.serial == "222"


def test_device_listing(world: FakeWorld) -> None:
    assert list_realsense_devices() == []
    world.cameras += [camera("111"), camera("222")]
    assert list_realsense_devices() == [
        DeviceInfo(kind="realsense", spec="realsense:111", label="Intel RealSense D435 (111)"),
        DeviceInfo(kind="realsense", spec="realsense:222", label="Intel RealSense D435 (222)"),
    ]
    assert parse_realsense(list_realsense_devices()[1].spec).serial == "222"


def test_no_camera_connected(world: FakeWorld) -> None:
    with pytest.raises(CaptureError, match="^no RealSense camera connected$"):
        RealSenseSource().open()
    assert world.pipelines == []


def test_unknown_serial(world: FakeWorld) -> None:
    world.cameras.append(camera("111"))
    with pytest.raises(CaptureError, match="no RealSense camera with serial 999 connected .connected: 111."):
        RealSenseSource(serial="999").open()


def test_a_size_the_camera_cannot_stream(world: FakeWorld) -> None:
    world.cameras.append(camera("111"))
    with pytest.raises(CaptureError, match="cannot stream depth and colour at 1280x720 30 fps") as info:
        RealSenseSource(width=1280, height=720).open()
    assert "\n" not in str(info.value)


def test_unplugged_mid_stream_ends_with_a_capture_error_and_stops_the_pipeline(world: FakeWorld) -> None:
    world.cameras.append(camera("111", unplug_after=3))
    source = RealSenseSource(width=64, height=48, frame_timeout_ms=200)
    received = []
    with source, pytest.raises(CaptureError) as info:
        for frame in source:
            received.append(frame.index)
    assert received == [0, 1, 2]
    message = str(info.value)
    assert "RealSense D435 (111) disconnected or stopped delivering frames" in message
    assert "\n" not in message
    assert world.pipelines[-1].stopped
    source.close()  # still safe


def test_close_stops_the_pipeline_and_is_idempotent(world: FakeWorld) -> None:
    world.cameras.append(camera("111"))
    source = RealSenseSource(width=64, height=48)
    source.open()
    pipeline = world.pipelines[-1]
    assert pipeline.started
    source.close()
    source.close()
    assert pipeline.stopped and not pipeline.started


def test_without_the_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(realsense, "rs", None)
    assert list_realsense_devices() == []
    with pytest.raises(CaptureError, match="pyrealsense2 package is not installed"):
        RealSenseSource().open()


@pytest.mark.parametrize("spec, serial, size", [
    ("realsense", None, (640, 480, 30)),
    ("realsense:0123456789", "0123456789", (640, 480, 30)),
    ("realsense:0123456789,width=1280,height=720,fps=15", "0123456789", (1280, 720, 15)),
    ("realsense:width=848,height=480", None, (848, 480, 30)),
])
def test_parse_realsense(spec: str, serial: str | None, size: tuple[int, int, int]) -> None:
    source = parse_realsense(spec)
    assert source.serial == serial
    assert (source.width, source.height, source.fps) == size


@pytest.mark.parametrize("spec", ["webcam", "realsensex", "record3d:0", "take.bag"])
def test_parse_realsense_leaves_other_sources(spec: str) -> None:
    assert parse_realsense(spec) is None


@pytest.mark.parametrize("spec", ["realsense:123,speed=9", "realsense:123,fps=fast", "realsense:123,=4"])
def test_parse_realsense_rejects_bad_options(spec: str) -> None:
    with pytest.raises(CaptureError):
        parse_realsense(spec)
