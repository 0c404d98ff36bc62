"""A live Intel RealSense camera through ``pyrealsense2``.

``realsense`` (the first camera found) or ``realsense:SERIAL``. Modes: RGB-D, depth and RGB.

The SDK runs its own threads: they fill the pipeline's frame queue, and
:meth:`RealSenseSource.frames` takes framesets from it with ``wait_for_frames`` on the
consumer's thread, so no SDK thread ever reaches our code.

Geometry: depth (z16, scaled to metres by the depth sensor's ``get_depth_scale()``) is
aligned onto the colour grid with ``rs.align(rs.stream.color)``; frames carry the colour
stream's intrinsics. Timestamps are the depth frames' SDK timestamps (milliseconds), in
seconds since the first frame.

Endings: no camera, an unknown serial, or a resolution the camera cannot stream raise a
one-line :class:`CaptureError` from :meth:`open`; an SDK error while waiting for frames
(cable pulled, camera stopped delivering) closes the pipeline and ends :meth:`frames` with
a one-line :class:`CaptureError`. :meth:`close` always stops the pipeline and is safe to call
twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from capture.base import CaptureError, DeviceInfo, FrameSource, Mode
from capture.realsense_frames import depth_in_metres, intrinsics_from_profile, rgb_image
from capture.spec import parse_options
from models.camera import Intrinsics
from models.frame import Frame

try:
    import pyrealsense2 as rs
except ImportError:  # optional: only RealSense capture needs it
    rs = None

log = logging.getLogger(__name__)

FRAME_TIMEOUT_MS = 5000  # the SDK's own default; the first frame after start can take ~1-2 s
_NOT_INSTALLED = "the pyrealsense2 package is not installed (pip install pyrealsense2) so no RealSense camera can stream"


def sdk() -> Any:
    """The ``pyrealsense2`` module, or a one-line :class:`CaptureError` if it is missing."""
    if rs is None:
        raise CaptureError(_NOT_INSTALLED)
    return rs


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _connected(lib: Any) -> list[tuple[str, str]]:
    """(name, serial) of every connected camera."""
    try:
        devices = lib.context().query_devices()
        return [(str(dev.get_info(lib.camera_info.name)), str(dev.get_info(lib.camera_info.serial_number)))
                for dev in devices]
    except RuntimeError as exc:
        raise CaptureError(f"cannot list RealSense cameras: {_one_line(exc)}") from None


def list_realsense_devices() -> list[DeviceInfo]:
    """Connected RealSense cameras as ``realsense:SERIAL`` entries.

    Empty when none is connected, the SDK is missing or cannot list devices (logged), so a
    device picker can always call it.
    """
    try:
        cameras = _connected(sdk())
    except CaptureError as exc:
        log.info("no RealSense devices: %s", exc)
        return []
    return [DeviceInfo(kind="realsense", spec=f"realsense:{serial}", label=f"{name} ({serial})")
            for name, serial in cameras]


class RealSenseSource(FrameSource):
    """A connected RealSense camera (the first one, or the one with ``serial``); endless.

    Streams depth (z16) and colour (rgb8) at ``width`` x ``height`` and ``fps``.
    ``frame_timeout_ms`` bounds each wait for a frameset.
    """

    def __init__(self, serial: str | None = None, width: int = 640, height: int = 480, fps: int = 30,
                 frame_timeout_ms: int = FRAME_TIMEOUT_MS):
        if width <= 0 or height <= 0 or fps <= 0:
            raise CaptureError(f"RealSense needs a positive size and frame rate, got {width}x{height} at {fps}")
        self.serial = serial or None
        self.width, self.height, self._fps = int(width), int(height), int(fps)
        self.frame_timeout_ms = int(frame_timeout_ms)
        self.name = f"realsense:{self.serial}" if self.serial else "realsense"
        self._pipeline: Any = None
        self._align: Any = None
        self._depth_scale = 0.0
        self._intrinsics: Intrinsics | None = None
        self._label = "RealSense camera"

    @property
    def modes(self) -> frozenset[Mode]:
        return frozenset({Mode.RGBD, Mode.DEPTH, Mode.RGB})

    @property
    def fps(self) -> float:
        return float(self._fps)

    @property
    def intrinsics(self) -> Intrinsics | None:
        """The colour stream's intrinsics (the frames' grid) once open, else None."""
        return self._intrinsics

    def _pick_camera(self, lib: Any) -> tuple[str, str]:
        cameras = _connected(lib)
        if not cameras:
            raise CaptureError("no RealSense camera connected")
        if self.serial is None:
            return cameras[0]
        for name, serial in cameras:
            if serial == self.serial:
                return name, serial
        found = ", ".join(serial for _, serial in cameras)
        raise CaptureError(f"no RealSense camera with serial {self.serial} connected (connected: {found})")

    def open(self) -> None:
        if self._pipeline is not None:
            return
        lib = sdk()
        name, serial = self._pick_camera(lib)
        self._label = f"{name} ({serial})" if "realsense" in name.lower() else f"RealSense {name} ({serial})"
        config = lib.config()
        config.enable_device(serial)
        config.enable_stream(lib.stream.depth, self.width, self.height, lib.format.z16, self._fps)
        config.enable_stream(lib.stream.color, self.width, self.height, lib.format.rgb8, self._fps)
        pipeline = lib.pipeline()
        try:
            profile = pipeline.start(config)
        except RuntimeError as exc:
            raise CaptureError(f"{self._label} cannot stream depth and colour at {self.width}x{self.height} "
                               f"{self._fps} fps: {_one_line(exc)}") from None
        self._pipeline = pipeline
        try:
            self._depth_scale = float(profile.get_device().first_depth_sensor().get_depth_scale())
            self._intrinsics = intrinsics_from_profile(profile.get_stream(lib.stream.color))
            self._align = lib.align(lib.stream.color)
        except (RuntimeError, CaptureError) as exc:
            self.close()
            raise CaptureError(f"{self._label} started but its streams cannot be read: {_one_line(exc)}") from None
        log.info("%s streaming %dx%d at %d fps, depth scale %g m", self._label, self.width, self.height,
                 self._fps, self._depth_scale)

    def close(self) -> None:
        pipeline, self._pipeline = self._pipeline, None
        self._align = None
        if pipeline is None:
            return
        try:
            pipeline.stop()
        except RuntimeError as exc:  # stopping a camera that is already gone
            log.debug("stopping %s: %s", self._label, _one_line(exc))

    def frames(self) -> Iterator[Frame]:
        if self._pipeline is None:
            self.open()
        index = 0
        first_ms: float | None = None
        while self._pipeline is not None:
            try:
                frameset = self._pipeline.wait_for_frames(self.frame_timeout_ms)
                aligned = self._align.process(frameset)
                depth_frame = aligned.get_depth_frame()
                color_frame = aligned.get_color_frame()
            except RuntimeError as exc:
                self.close()
                raise CaptureError(f"{self._label} disconnected or stopped delivering frames "
                                   f"({_one_line(exc)})") from None
            if not depth_frame or not color_frame:
                log.debug("%s: skipping a frameset without both depth and colour", self._label)
                continue
            depth = depth_in_metres(depth_frame, self._depth_scale)
            rgb = rgb_image(color_frame)
            stamp_ms = float(depth_frame.get_timestamp())
            first_ms = stamp_ms if first_ms is None else first_ms
            yield Frame(index=index, timestamp=(stamp_ms - first_ms) / 1000.0, intrinsics=self._intrinsics,
                        rgb=rgb, depth=depth)
            index += 1


def parse_realsense(spec: str) -> RealSenseSource | None:
    """``realsense`` or ``realsense:SERIAL`` (optionally ``realsense:SERIAL,width=W,height=H,fps=F``
    or ``realsense:width=W,...``), else None."""
    name, sep, rest = spec.partition(":")
    if name.strip().lower() != "realsense":
        return None
    serial = None
    items = [item.strip() for item in rest.split(",")] if sep else []
    if items and items[0] and "=" not in items[0]:
        serial = items.pop(0)
    options = parse_options(",".join(items), spec)
    sizes: dict[str, int] = {}
    for key, value in options.items():
        if key not in ("width", "height", "fps"):
            raise CaptureError(f"unknown realsense option {key!r} in {spec!r}; expected width, height or fps")
        try:
            sizes[key] = int(value)
        except ValueError:
            raise CaptureError(f"realsense option {key}={value!r} in {spec!r} is not a whole number") from None
    return RealSenseSource(serial=serial, **sizes)
