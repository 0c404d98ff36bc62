"""The live iPhone source against a fake of the ``record3d`` package.

The fake mirrors the real interface (``Record3DStream`` with ``get_connected_devices``,
``connect``, ``disconnect``, the ``get_*`` readers and the two callbacks; devices with
``product_id`` and ``udid``). Its producer thread calls ``on_new_frame`` from a thread that is
not the test's, reuses its buffers for every frame as the library does, and can end with
``on_stream_stopped`` or go silent like a pulled cable.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import pytest

from capture import record3d_live
from capture.base import CaptureError, Mode
from capture.record3d_live import Record3DSource, list_record3d_devices, parse_record3d

RED, BLUE = (220, 20, 30), (10, 40, 230)


@dataclass
class FakeDevice:
    product_id: int = 0x12A8
    udid: str = "00008101-000A1B2C3D4E5F6A"


@dataclass
class Plan:
    """What the fake phone sends: ``frames`` frames ``interval`` s apart, then ``ending``.

    ending: ``stop`` (the library reports the stream stopped), ``silent`` (no more frames,
    no callback: a pulled cable) or ``forever`` (frames until disconnect()). With
    ``frames=0, ending="silent"`` the test drives the stream by hand (:meth:`emit`, :meth:`stop`).
    """

    frames: int = 3
    interval: float = 0.01
    ending: str = "forever"
    rgb_size: tuple[int, int] = (720, 960)  # width, height
    depth_size: tuple[int, int] = (480, 640)
    coeffs: tuple[float, float, float, float] = (700.0, 705.0, 359.5, 479.5)  # for rgb_size
    device_type: int = 0
    connect_ok: bool = True
    fail_reading: bool = False
    confidence: np.ndarray | None = None  # LiDAR's per-depth-pixel confidence (0 low .. 2 high)


@dataclass
class FakeLibrary:
    """Stands in for the ``record3d`` module; ``Record3DStream`` is bound to this instance."""

    devices: list[FakeDevice] = field(default_factory=lambda: [FakeDevice()])
    plan: Plan = field(default_factory=Plan)
    streams: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self.Record3DStream = make_stream_class(self)


def make_stream_class(lib: FakeLibrary) -> type:
    class Record3DStream:
        def __init__(self) -> None:
            self.on_new_frame = None
            self.on_stream_stopped = None
            self.thread: threading.Thread | None = None
            self.stopped = threading.Event()
            self.disconnects = 0
            self.callback_threads: set[int] = set()
            plan = lib.plan
            rgb_w, rgb_h = plan.rgb_size
            depth_w, depth_h = plan.depth_size
            # One set of buffers, overwritten for every frame, as the real library does.
            self._rgb = np.zeros((rgb_h, rgb_w, 3), np.uint8)
            self._depth = np.zeros((depth_h, depth_w), np.float32)
            self._confidence = plan.confidence if plan.confidence is not None else np.zeros((0, 0), np.uint8)
            lib.streams.append(self)

        @staticmethod
        def get_connected_devices() -> list[FakeDevice]:
            return list(lib.devices)

        def connect(self, device: FakeDevice) -> bool:
            assert device in lib.devices
            if not lib.plan.connect_ok:
                return False
            self.thread = threading.Thread(target=self._produce, name="fake-record3d", daemon=True)
            self.thread.start()
            return True

        def disconnect(self) -> None:
            self.disconnects += 1
            self.stopped.set()
            if self.thread is not None and self.thread is not threading.current_thread():
                self.thread.join(timeout=5)
            if self.on_stream_stopped is not None:
                self.on_stream_stopped()

        def _fill(self, k: int) -> None:
            half = self._rgb.shape[1] // 2
            self._rgb[:, :half] = RED
            self._rgb[:, half:] = BLUE
            self._rgb[-4:, :4] = k  # a corner that tells frames apart
            self._depth[:] = 0.4 + 0.01 * k
            self._depth[0, 0] = np.nan
            self._depth[0, 1] = np.inf
            self._depth[0, 2] = -np.inf
            self._depth[0, 3] = -0.5

        def _produce(self) -> None:
            plan = lib.plan
            k = 0
            while not self.stopped.is_set() and (plan.ending == "forever" or k < plan.frames):
                self._send(k)
                k += 1
                self.stopped.wait(plan.interval)
            if plan.ending == "stop" and not self.stopped.is_set():
                self.on_stream_stopped()  # the library's runloop ends with a stop callback

        def _send(self, k: int) -> None:
            self._fill(k)
            self.callback_threads.add(threading.get_ident())
            self.on_new_frame()

        def emit(self, k: int) -> None:
            """Send frame ``k`` now, from a library thread; returns once the callback ran."""
            helper = threading.Thread(target=self._send, args=(k,))
            helper.start()
            helper.join()

        def stop(self) -> None:
            """Report the stream stopped, from a library thread."""
            helper = threading.Thread(target=self.on_stream_stopped)
            helper.start()
            helper.join()

        def get_rgb_frame(self) -> np.ndarray:
            if lib.plan.fail_reading:
                raise RuntimeError("buffer underrun")
            return self._rgb

        def get_depth_frame(self) -> np.ndarray:
            return self._depth

        def get_confidence_frame(self) -> np.ndarray:
            return self._confidence

        def get_intrinsic_mat(self) -> SimpleNamespace:
            fx, fy, tx, ty = lib.plan.coeffs
            return SimpleNamespace(fx=fx, fy=fy, tx=tx, ty=ty)

        def get_camera_pose(self) -> SimpleNamespace:
            return SimpleNamespace(qx=0.0, qy=0.0, qz=0.0, qw=1.0, tx=0.0, ty=0.0, tz=0.0)

        def get_device_type(self) -> int:
            return lib.plan.device_type

    return Record3DStream


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLibrary]:
    lib = FakeLibrary()
    monkeypatch.setattr(record3d_live, "record3d", lib)
    yield lib
    for stream in lib.streams:  # no producer may outlive its test
        stream.stopped.set()
        if stream.thread is not None:
            stream.thread.join(timeout=5)
            assert not stream.thread.is_alive()


def take(source: Record3DSource, count: int) -> list:
    frames = []
    for frame in source.frames():
        frames.append(frame)
        if len(frames) == count:
            break
    return frames


def test_frames_land_on_the_depth_grid_with_rescaled_intrinsics(fake: FakeLibrary) -> None:
    with Record3DSource() as source:
        frames = take(source, 3)
        stream = fake.streams[0]
    assert [f.index for f in frames] == [0, 1, 2]
    assert frames[0].timestamp == 0.0
    assert all(b.timestamp >= a.timestamp for a, b in itertools.pairwise(frames))
    frame = frames[0]
    camera = frame.intrinsics
    assert (camera.width, camera.height) == (480, 640)
    # Colour intrinsics for 720x960, scaled by 2/3 with pixel centres at integers.
    assert camera.fx == pytest.approx(700.0 * 2 / 3) and camera.fy == pytest.approx(705.0 * 2 / 3)
    assert camera.cx == pytest.approx(239.5) and camera.cy == pytest.approx(319.5)
    assert frame.rgb.shape == (640, 480, 3) and frame.rgb.dtype == np.uint8
    assert frame.depth.shape == (640, 480) and frame.depth.dtype == np.float32
    # NaN, +-inf and negative depth are invalid (0); the rest are metres.
    assert frame.depth[0, :4].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert np.isfinite(frame.depth).all()
    assert frame.depth[100, 100] == pytest.approx(0.4, abs=0.05)
    # Not mirrored: red stays on the left, blue on the right.
    np.testing.assert_array_equal(frame.rgb[320, 10], RED)
    np.testing.assert_array_equal(frame.rgb[320, 470], BLUE)
    # Frames are copies, not views of the library's reused buffers.
    assert not np.shares_memory(frame.depth, stream._depth) and not np.shares_memory(frame.rgb, stream._rgb)
    # close() disconnected and the producer thread is gone.
    assert stream.disconnects == 1 and not stream.thread.is_alive()
    assert threading.get_ident() not in stream.callback_threads


def test_a_library_stop_ends_frames_with_a_capture_error_and_closes_cleanly(fake: FakeLibrary) -> None:
    fake.plan = Plan(frames=2, ending="stop")
    source = Record3DSource(frame_timeout=5.0)
    frames = []
    started = time.monotonic()
    with pytest.raises(CaptureError, match=r"^iPhone stream stopped: Record3D ended the USB stream"):
        with source:
            for frame in source:
                frames.append(frame)
    assert time.monotonic() - started < 2.0  # the stop, not the timeout, ended it
    assert 1 <= len(frames) <= 2 and len(frames) + source.dropped_frames == 2
    stream = fake.streams[0]
    assert stream.disconnects == 1 and not stream.thread.is_alive()
    source.close()  # twice is fine
    assert stream.disconnects == 1


def test_the_newest_frame_wins_and_a_frame_before_a_stop_is_still_delivered(fake: FakeLibrary) -> None:
    fake.plan = Plan(frames=0, ending="silent", rgb_size=(480, 640))  # colour already on the depth grid
    with Record3DSource(frame_timeout=5.0) as source:
        stream = fake.streams[0]
        frames = source.frames()
        stream.emit(0)
        first = next(frames)
        stream.emit(1)
        stream.emit(2)  # the consumer was busy: frame 1 is dropped and counted
        second = next(frames)
        stream.emit(3)
        stream.stop()
        third = next(frames)  # came before the stop: delivered
        with pytest.raises(CaptureError, match="^iPhone stream stopped"):
            next(frames)
    assert [f.index for f in (first, second, third)] == [0, 1, 2]
    assert [int(f.rgb[-1, 0, 0]) for f in (first, second, third)] == [0, 2, 3]
    assert source.dropped_frames == 1
    # Copies, not views of the library's reused buffers, even with no resize.
    assert not np.shares_memory(first.rgb, stream._rgb) and not np.shares_memory(first.depth, stream._depth)
    assert first.depth[100, 100] == pytest.approx(0.4) and third.depth[100, 100] == pytest.approx(0.43)
    assert first.intrinsics.fx == 700.0 and first.intrinsics.cx == 359.5
    assert threading.get_ident() not in stream.callback_threads


def test_a_silent_stream_times_out_after_frames_have_flowed(fake: FakeLibrary) -> None:
    fake.plan = Plan(frames=2, ending="silent")
    source = Record3DSource(frame_timeout=0.2)
    frames = []
    started = time.monotonic()
    with pytest.raises(CaptureError, match=r"^iPhone stream lost: no frame for 0.2 s"):
        for frame in source.frames():  # not opened by the caller: frames() opens and closes
            frames.append(frame)
    assert 0.2 <= time.monotonic() - started < 2.0
    assert frames
    assert fake.streams[0].disconnects == 1 and not fake.streams[0].thread.is_alive()


def test_no_first_frame_is_an_error(fake: FakeLibrary) -> None:
    fake.plan = Plan(frames=0, ending="silent")
    with Record3DSource(first_frame_timeout=0.1) as source:
        with pytest.raises(CaptureError, match=r"^no frame from iPhone record3d:0 within 0.1 s"):
            next(iter(source))


def test_no_device_and_a_missing_device_number_are_errors(fake: FakeLibrary) -> None:
    with pytest.raises(CaptureError, match=r"^no iPhone record3d:1: only 1 connected \(record3d:0 to record3d:0\)"):
        with Record3DSource(1):
            pass
    fake.devices = []
    with pytest.raises(CaptureError, match="^no iPhone connected over USB"):
        next(Record3DSource().frames())
    assert fake.streams == []


def test_a_refused_connection_is_an_error(fake: FakeLibrary) -> None:
    fake.plan = Plan(connect_ok=False)
    source = Record3DSource()
    with pytest.raises(CaptureError, match="^could not connect to iPhone record3d:0"):
        source.open()
    source.close()
    assert fake.streams[0].disconnects == 0


def test_a_failing_read_on_the_library_thread_reaches_the_consumer(fake: FakeLibrary) -> None:
    fake.plan = Plan(fail_reading=True)
    with Record3DSource() as source:
        with pytest.raises(CaptureError, match="^iPhone stream stopped: reading a frame failed: buffer underrun"):
            next(iter(source))


def test_lidar_streams_at_60_fps_and_drops_low_confidence_depth(fake: FakeLibrary) -> None:
    confidence = np.full((256, 192), 2, np.uint8)
    confidence[5, 5] = 0
    fake.plan = Plan(device_type=1, rgb_size=(192 * 3, 256 * 3), depth_size=(192, 256),
                     coeffs=(430.0, 430.0, 287.5, 383.5), confidence=confidence)
    source = Record3DSource()
    assert source.fps == 30.0 and source.modes == {Mode.RGB, Mode.DEPTH, Mode.RGBD}
    with source:
        frame = take(source, 2)[-1]
        assert source.fps == 60.0
    assert frame.intrinsics.fx == pytest.approx(430.0 / 3)
    assert frame.depth[5, 5] == 0.0 and frame.depth[6, 6] > 0


def test_device_listing(fake: FakeLibrary, monkeypatch: pytest.MonkeyPatch) -> None:
    fake.devices = [FakeDevice(udid="aaa111"), FakeDevice(udid="bbb222")]
    devices = list_record3d_devices()
    assert [d.spec for d in devices] == ["record3d:0", "record3d:1"]
    assert all(d.kind == "record3d" for d in devices)
    assert "aaa111" in devices[0].label and "0x12a8" in devices[0].label and "bbb222" in devices[1].label
    fake.devices = []
    assert list_record3d_devices() == []
    monkeypatch.setattr(record3d_live, "record3d", None)
    assert list_record3d_devices() == []
    with pytest.raises(CaptureError, match="record3d package is not installed"):
        Record3DSource().open()


def test_parse_record3d() -> None:
    assert parse_record3d("record3d").device_index == 0
    assert parse_record3d("record3d:2").device_index == 2
    assert parse_record3d("record3d.r3d") is None
    assert parse_record3d("webcam") is None
    with pytest.raises(CaptureError, match="expected record3d or record3d:N"):
        parse_record3d("record3d:first")
