"""Test doubles for RealSense: recordings written by the real SDK, and a fake of its live API.

``write_recording`` makes a real recording without a camera: a ``rs.software_device`` with a
depth sensor (z16) and/or a colour sensor (rgb8 or bgr8), wrapped in ``rs.recorder``, fed
synthetic frames with known timestamps. The SDK decides the container: librealsense up to
2.56 writes ROS 1 ``.bag``; 2.57 and later refuse ``.bag`` ("Output file must have .db3
extension") and write ROS 2 ``.db3`` (SQLite). We try ``.bag`` first and fall back to ``.db3``.

``FakeRealSense`` imitates the part of ``pyrealsense2`` that the live source uses
(``context``, ``config``, ``pipeline``, ``align``, ``stream``, ``format``, ``camera_info``,
frames with ``get_data``/``get_timestamp``/``profile``...). Like the SDK, a producer thread
per started pipeline delivers framesets into a bounded queue that ``wait_for_frames``
reads; frame buffers come from a small pool that is reused, as the SDK does, so a consumer
that keeps a buffer without copying it sees it overwritten.
"""

from __future__ import annotations

import enum
import gc
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# -- recordings through the real SDK ----------------------------------------------------------


@dataclass(frozen=True)
class Camera:
    """A pinhole stream: size in pixels, focal lengths and principal point in pixels."""

    width: int
    height: int
    fx: float
    fy: float
    ppx: float
    ppy: float


def sphere_depth(camera: Camera, centre_z: float = 0.5, radius: float = 0.1, background: float = 0.8) -> np.ndarray:
    """(H, W) float64 metres: a sphere in front of a wall, seen by ``camera``; the top-left
    4x4 pixels are 0 (no depth)."""
    v, u = np.mgrid[0:camera.height, 0:camera.width].astype(np.float64)
    x, y = (u - camera.ppx) / camera.fx, (v - camera.ppy) / camera.fy  # ray direction (x, y, 1)
    a = x * x + y * y + 1.0
    b = -2.0 * centre_z
    c = centre_z**2 - radius**2
    disc = b * b - 4.0 * a * c
    t = (-b - np.sqrt(np.maximum(disc, 0.0))) / (2.0 * a)
    depth = np.where(disc > 0, t, background)
    depth[:4, :4] = 0.0
    return depth


def gradient_rgb(camera: Camera, index: int) -> np.ndarray:
    """(H, W, 3) uint8: red follows the column, green the row, blue the frame index."""
    v, u = np.mgrid[0:camera.height, 0:camera.width]
    rgb = np.empty((camera.height, camera.width, 3), np.uint8)
    rgb[..., 0] = (u * 3) % 256
    rgb[..., 1] = (v * 5) % 256
    rgb[..., 2] = (20 * index + 7) % 256
    return rgb


def _rs_intrinsics(rs, camera: Camera):
    intr = rs.intrinsics()
    intr.width, intr.height = camera.width, camera.height
    intr.fx, intr.fy, intr.ppx, intr.ppy = camera.fx, camera.fy, camera.ppx, camera.ppy
    intr.model = rs.distortion.none
    intr.coeffs = [0.0] * 5
    return intr


def _video_stream(rs, kind, uid: int, camera: Camera, fmt, bpp: int, fps: int):
    stream = rs.video_stream()
    stream.type, stream.index, stream.uid = kind, 0, uid
    stream.width, stream.height, stream.fps, stream.bpp, stream.fmt = camera.width, camera.height, fps, bpp, fmt
    stream.intrinsics = _rs_intrinsics(rs, camera)
    return stream


def write_recording(
    stem: Path,
    *,
    depth: Sequence[np.ndarray] | None = None,
    color: Sequence[np.ndarray] | None = None,
    depth_camera: Camera | None = None,
    color_camera: Camera | None = None,
    timestamps_ms: Sequence[float],
    color_offset_ms: float = 0.0,
    depth_units: float = 0.001,
    color_format: str = "rgb8",
    fps: int = 30,
    compress: bool | None = None,
) -> Path:
    """Record frames through ``rs.software_device`` + ``rs.recorder``; returns the file written.

    ``depth``: raw z16 frames (uint16, units of ``depth_units`` metres); ``color``: uint8
    (H, W, 3) in ``color_format`` byte order. Frame ``i`` of each stream gets frame number
    ``i`` and timestamp ``timestamps_ms[i]`` (colour: plus ``color_offset_ms``); within one
    instant depth is pushed before colour. Depth and colour share the same viewpoint (identity
    extrinsics). ``compress``: the recorder's compression switch (None: the SDK's default).
    ``stem`` without suffix; the SDK picks ``.bag`` or ``.db3`` (module docstring).
    """
    import pyrealsense2 as rs

    device = rs.software_device()
    sensors = []  # (sensor, profile, frames, bytes per pixel, offset, is_depth)
    uid = 0
    if depth is not None:
        sensor = device.add_sensor("Depth")
        profile = sensor.add_video_stream(_video_stream(rs, rs.stream.depth, uid, depth_camera, rs.format.z16, 2, fps))
        sensor.add_read_only_option(rs.option.depth_units, depth_units)
        sensors.append((sensor, profile, depth, 2, 0.0, True))
        uid += 1
    if color is not None:
        sensor = device.add_sensor("Color")
        fmt = getattr(rs.format, color_format)
        profile = sensor.add_video_stream(_video_stream(rs, rs.stream.color, uid, color_camera, fmt, 3, fps))
        sensors.append((sensor, profile, color, 3, color_offset_ms, False))
    if len(sensors) == 2:
        identity = rs.extrinsics()
        identity.rotation = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
        identity.translation = [0.0, 0.0, 0.0]
        sensors[0][1].register_extrinsics_to(sensors[1][1], identity)

    recorder = None
    for suffix in (".bag", ".db3"):
        path = stem.with_suffix(suffix)
        try:
            recorder = rs.recorder(str(path), device) if compress is None else rs.recorder(str(path), device, compress)
            break
        except RuntimeError as exc:
            if ".db3" not in str(exc):
                raise
    assert recorder is not None
    for sensor, profile, _, _, _, _ in sensors:
        sensor.open(profile)
        sensor.start(lambda frame: None)
    for i, stamp in enumerate(timestamps_ms):
        for sensor, profile, frames, bpp, offset, is_depth in sensors:
            pixels = np.ascontiguousarray(frames[i])
            frame = rs.software_video_frame()
            frame.pixels = pixels
            frame.bpp = bpp
            frame.stride = pixels.shape[1] * bpp
            frame.timestamp = stamp + offset
            frame.domain = rs.timestamp_domain.hardware_clock
            frame.frame_number = i
            frame.profile = profile.as_video_stream_profile()
            if is_depth:
                frame.depth_units = depth_units
            sensor.on_video_frame(frame)
    for sensor, _, _, _, _, _ in sensors:
        sensor.stop()
        sensor.close()
    # The file is complete only once the recorder (and the device it wraps) are destroyed.
    del recorder, sensors, sensor, profile, device
    gc.collect()
    return path


# -- a fake of the live pyrealsense2 API ---------------------------------------------------------


def align_depth(raw: np.ndarray, shift: int) -> np.ndarray:
    """What the fake ``align`` makes of a depth image: columns moved right by ``shift``."""
    out = np.zeros_like(raw)
    out[:, shift:] = raw[:, : raw.shape[1] - shift]
    return out


class stream(enum.Enum):  # the SDK's spelling
    any = 0
    depth = 1
    color = 2
    infrared = 3


class format(enum.Enum):  # the SDK's spelling
    any = 0
    z16 = 1
    disparity16 = 2
    yuyv = 4
    rgb8 = 5
    bgr8 = 6
    rgba8 = 7
    bgra8 = 8
    y8 = 9


class camera_info(enum.Enum):  # the SDK's spelling
    name = 0
    serial_number = 1


@dataclass
class FakeIntrinsics:
    width: int
    height: int
    ppx: float
    ppy: float
    fx: float
    fy: float


class FakeStreamProfile:
    def __init__(self, kind: stream, fmt: format, fps: int, camera: Camera):
        self._kind, self._format, self._fps, self._camera = kind, fmt, fps, camera

    def stream_type(self) -> stream:
        return self._kind

    def format(self) -> format:
        return self._format

    def fps(self) -> int:
        return self._fps

    def as_video_stream_profile(self) -> FakeStreamProfile:
        return self

    def get_intrinsics(self) -> FakeIntrinsics:
        c = self._camera
        return FakeIntrinsics(width=c.width, height=c.height, ppx=c.ppx, ppy=c.ppy, fx=c.fx, fy=c.fy)


class FakeFrame:
    """One frame; ``get_data`` hands out a view of a pooled buffer, as the SDK does."""

    def __init__(self, profile: FakeStreamProfile, data: np.ndarray, number: int, timestamp_ms: float):
        self.profile = profile
        self._data, self._number, self._timestamp = data, number, timestamp_ms

    def get_data(self) -> memoryview:
        return memoryview(self._data)

    def get_timestamp(self) -> float:
        return self._timestamp

    def get_frame_number(self) -> int:
        return self._number

    def get_width(self) -> int:
        return self._data.shape[1]

    def get_height(self) -> int:
        return self._data.shape[0]

    def __bool__(self) -> bool:
        return True


class FakeFrameset:
    def __init__(self, frames: list[FakeFrame]):
        self._frames = frames

    def _first(self, kind: stream) -> FakeFrame | None:
        return next((f for f in self._frames if f.profile.stream_type() is kind), None)

    def get_depth_frame(self) -> FakeFrame | None:
        return self._first(stream.depth)

    def get_color_frame(self) -> FakeFrame | None:
        return self._first(stream.color)

    def get_timestamp(self) -> float:
        return self._frames[0].get_timestamp()

    def get_frame_number(self) -> int:
        return self._frames[0].get_frame_number()

    def size(self) -> int:
        return len(self._frames)

    def __iter__(self):
        return iter(self._frames)

    def __bool__(self) -> bool:
        return bool(self._frames)


@dataclass
class FakeCamera:
    """A camera plugged into the fake SDK: what it streams, and when it is unplugged.

    Depth and colour streams share a size (one of ``sizes``, at 30 fps) but not intrinsics;
    ``align`` shifts depth by ``align_shift_px`` columns. ``raw_depth(i)``/``rgb(i)`` make
    frame ``i``; once ``unplug_after`` framesets have been delivered, the cable is pulled
    (None: never).
    """

    name: str
    serial: str
    depth_scale: float
    depth_camera: Camera
    color_camera: Camera
    raw_depth: Callable[[int], np.ndarray]
    rgb: Callable[[int], np.ndarray]
    sizes: tuple[tuple[int, int], ...] = ((64, 48),)
    align_shift_px: int = 3
    start_ms: float = 1_000.0
    unplug_after: int | None = None
    frames_to_stream: int = 1_000_000
    connected: bool = True

    def get_info(self, info: camera_info) -> str:
        if not self.connected:
            raise RuntimeError("device disconnected")
        return {camera_info.name: self.name, camera_info.serial_number: self.serial}[info]

    def first_depth_sensor(self) -> FakeCamera:
        return self

    def get_depth_scale(self) -> float:
        return self.depth_scale


@dataclass
class FakeWorld:
    """The cameras on the fake USB bus and the pipelines started on them."""

    cameras: list[FakeCamera] = field(default_factory=list)
    pipelines: list[FakePipelineBase] = field(default_factory=list)


class FakePipelineBase:
    pass


class FakeRealSense:
    """A stand-in for the ``pyrealsense2`` module, bound to one :class:`FakeWorld`."""

    stream = stream
    format = format
    camera_info = camera_info

    def __init__(self, world: FakeWorld):
        self.world = world
        outer = self

        class context:
            def query_devices(self) -> list[FakeCamera]:
                return [cam for cam in outer.world.cameras if cam.connected]

        class config:
            def __init__(self) -> None:
                self.serial: str | None = None
                self.streams: list[tuple[stream, int, int, format, int]] = []

            def enable_device(self, serial: str) -> None:
                self.serial = serial

            def enable_stream(self, kind: stream, width: int, height: int, fmt: format, fps: int) -> None:
                self.streams.append((kind, width, height, fmt, fps))

        class align:
            """Depth moved onto the colour grid: shifted ``align_shift_px`` columns (the stereo
            baseline), 0 where nothing lands, with the colour stream's intrinsics."""

            def __init__(self, to: stream) -> None:
                assert to is stream.color
                self.to = to

            def process(self, frameset: FakeFrameset) -> FakeFrameset:
                depth, color = frameset.get_depth_frame(), frameset.get_color_frame()
                shift = outer.world.cameras[0].align_shift_px if outer.world.cameras else 0
                aligned = align_depth(np.asarray(depth.get_data()), shift)
                profile = FakeStreamProfile(stream.depth, format.z16, depth.profile.fps(), color.profile._camera)
                out = FakeFrame(profile, aligned, depth.get_frame_number(), depth.get_timestamp())
                return FakeFrameset([out, color])

        class pipeline(FakePipelineBase):
            """Started on a camera, a producer thread feeds framesets into a queue of two."""

            def __init__(self, ctx: object | None = None) -> None:
                self.started = False
                self.stopped = False
                self.camera: FakeCamera | None = None
                self.delivered = 0
                self._queue: queue.Queue[FakeFrameset] = queue.Queue(maxsize=2)
                self._halt = threading.Event()
                self._thread: threading.Thread | None = None
                outer.world.pipelines.append(self)

            def start(self, cfg: config) -> FakePipelineProfile:
                if self.started:
                    raise RuntimeError("start() cannot be called before stop()")
                live = [cam for cam in outer.world.cameras if cam.connected]
                cams = [cam for cam in live if cfg.serial in (None, cam.serial)]
                if not cams:
                    raise RuntimeError("No device connected")
                cam = cams[0]
                for _, width, height, _, fps in cfg.streams:
                    if (width, height) not in cam.sizes or fps != 30:
                        raise RuntimeError("Couldn't resolve requests")
                self.camera = cam
                self.started = True
                self._thread = threading.Thread(target=self._produce, name="fake-rs-producer", daemon=True)
                self._thread.start()
                return FakePipelineProfile(cam)

            def _produce(self) -> None:
                cam = self.camera
                depth_profile = FakeStreamProfile(stream.depth, format.z16, 30, cam.depth_camera)
                color_profile = FakeStreamProfile(stream.color, format.rgb8, 30, cam.color_camera)
                pool = [(np.zeros((cam.depth_camera.height, cam.depth_camera.width), np.uint16),
                         np.zeros((cam.color_camera.height, cam.color_camera.width, 3), np.uint8))
                        for _ in range(5)]  # more than in flight: 2 queued, 1 held, 1 being filled
                for i in range(cam.frames_to_stream):
                    if self._halt.is_set():
                        return
                    if cam.unplug_after is not None and i >= cam.unplug_after:
                        cam.connected = False
                        return
                    depth_buf, color_buf = pool[i % len(pool)]  # reused, like the SDK's frame pool
                    depth_buf[...] = cam.raw_depth(i)
                    color_buf[...] = cam.rgb(i)
                    stamp = cam.start_ms + i * 1000.0 / 30
                    frameset = FakeFrameset([FakeFrame(depth_profile, depth_buf, i, stamp),
                                             FakeFrame(color_profile, color_buf, i, stamp)])
                    while not self._halt.is_set():
                        try:
                            self._queue.put(frameset, timeout=0.01)
                            self.delivered += 1
                            break
                        except queue.Full:
                            continue

            def wait_for_frames(self, timeout_ms: int = 5000) -> FakeFrameset:
                if not self.started:
                    raise RuntimeError("wait_for_frames cannot be called before start()")
                try:
                    return self._queue.get(timeout=timeout_ms / 1000)
                except queue.Empty:
                    if self.camera is not None and not self.camera.connected:
                        raise RuntimeError("Device disconnected. Failed to reconnect: No device connected"
                                           f"{timeout_ms}") from None
                    raise RuntimeError(f"Frame didn't arrive within {timeout_ms}") from None

            def stop(self) -> None:
                if not self.started:
                    raise RuntimeError("stop() cannot be called before start()")
                self._halt.set()
                if self._thread is not None:
                    self._thread.join(timeout=2)
                self.started = False
                self.stopped = True

        self.context = context
        self.config = config
        self.align = align
        self.pipeline = pipeline


class FakePipelineProfile:
    def __init__(self, cam: FakeCamera):
        self._cam = cam

    def get_device(self) -> FakeCamera:
        return self._cam

    def get_stream(self, kind: stream) -> FakeStreamProfile:
        if kind is stream.depth:
            return FakeStreamProfile(stream.depth, format.z16, 30, self._cam.depth_camera)
        return FakeStreamProfile(stream.color, format.rgb8, 30, self._cam.color_camera)
