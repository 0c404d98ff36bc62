"""A live iPhone over USB through the Record3D app and its ``record3d`` package.

``record3d`` (the first iPhone found) or ``record3d:N`` (the N-th). The Record3D app on the
phone must be in USB streaming mode. Modes: RGB-D, depth and RGB.

Threads: the library calls ``on_new_frame`` and ``on_stream_stopped`` on a thread of its own
(and ``on_stream_stopped`` also from inside ``disconnect()``). Those callbacks only copy the
frame out of the library's buffers (which it reuses for the next frame) into a latest-frame
slot and set an :class:`threading.Event`; they never raise into the library. :meth:`frames`
waits on that event and builds :class:`Frame` objects on the consumer's thread. The newest
frame wins: a frame the consumer had no time to take is dropped and counted
(:attr:`Record3DSource.dropped_frames`).

Geometry: depth (float32 metres; TrueDepth up to 640x480, LiDAR 256x192) defines the grid.
The colour image is resized onto it and the colour intrinsics (``get_intrinsic_mat``: fx, fy,
tx, ty for the colour resolution) are rescaled to it. NaN, infinite and negative depth become
0 (invalid); for LiDAR, so do low-confidence pixels (confidence 0).

Mirroring: the stream arrives in the sensor's own geometry, un-mirrored, consistent with
``get_intrinsic_mat``; Record3D's demos flip front-camera (TrueDepth) frames horizontally
only to show a selfie-style preview. This source does not flip anything, so geometry stays
true (a point's x in the camera frame matches its column); mirroring for display belongs to
the viewport. Nor does it rotate: frames come in the orientation the phone streams them,
and faces may lie at any in-plane roll. The camera pose (identity for the front camera) is
not used.

Frame rate: :attr:`Record3DSource.fps` is 30 for TrueDepth (the front camera streams at
30 fps) and 60 for LiDAR once a LiDAR frame has arrived. Timestamps are arrival times in
seconds since the first frame.

Endings: no device, a refused connection, no first frame within ``first_frame_timeout``, a
stream the library reports stopped, or a silence of ``frame_timeout`` seconds after frames
have flowed (a pulled cable) end :meth:`frames` with a one-line :class:`CaptureError`;
:meth:`close` disconnects and is safe to call twice.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from capture.base import CaptureError, DeviceInfo, FrameSource, Mode
from capture.spec import parse_device_number
from models.camera import Intrinsics
from models.frame import Frame

try:
    import record3d
except ImportError:  # optional: only live iPhone capture needs it
    record3d = None

log = logging.getLogger(__name__)

DEVICE_TYPE_TRUEDEPTH = 0
DEVICE_TYPE_LIDAR = 1
TRUEDEPTH_FPS = 30.0
LIDAR_FPS = 60.0
FIRST_FRAME_TIMEOUT_S = 5.0
FRAME_TIMEOUT_S = 2.0

_NOT_INSTALLED = "the record3d package is not installed (pip install record3d) so no iPhone can stream"
_STOPPED = "Record3D ended the USB stream (app closed or left streaming mode, phone locked, or cable unplugged)"


@dataclass(frozen=True)
class _RawFrame:
    """One frame as copied out of the library on its thread."""

    rgb: np.ndarray
    depth: np.ndarray
    confidence: np.ndarray
    coeffs: tuple[float, float, float, float]  # fx, fy, tx, ty for the rgb size
    device_type: int
    arrival: float  # time.monotonic()


def _library() -> Any:
    if record3d is None:
        raise CaptureError(_NOT_INSTALLED)
    return record3d


def _connected_devices(lib: Any) -> list[Any]:
    try:
        return list(lib.Record3DStream.get_connected_devices())
    except RuntimeError as exc:
        raise CaptureError(f"cannot list iPhones on USB (is usbmuxd running?): {exc}") from None


def _device_label(device: Any) -> str:
    product_id = getattr(device, "product_id", None)
    udid = getattr(device, "udid", "") or "unknown udid"
    product = f"{product_id:#06x}" if isinstance(product_id, int) else str(product_id)
    return f"iPhone over USB (Record3D), udid {udid}, product {product}"


def list_record3d_devices() -> list[DeviceInfo]:
    """iPhones streaming through Record3D over USB, in ``record3d:N`` order.

    Empty when none is connected, the package is missing or the USB service is unreachable
    (logged), so a device picker can always call it.
    """
    try:
        devices = _connected_devices(_library())
    except CaptureError as exc:
        log.info("no Record3D devices: %s", exc)
        return []
    return [DeviceInfo(kind="record3d", spec=f"record3d:{i}", label=_device_label(device))
            for i, device in enumerate(devices)]


def frame_from_record3d(raw: _RawFrame, index: int, timestamp: float) -> Frame:
    """The library's arrays -> a Frame on the depth grid (see the module docstring)."""
    depth = np.asarray(raw.depth, dtype=np.float32)
    if depth.ndim == 3 and depth.shape[2] == 1:
        depth = depth[..., 0]
    if depth.ndim != 2 or depth.size == 0:
        raise CaptureError(f"the iPhone sent a depth frame of shape {depth.shape}")
    height, width = depth.shape
    valid = np.isfinite(depth) & (depth > 0)
    if raw.confidence.shape == depth.shape and raw.device_type == DEVICE_TYPE_LIDAR:
        valid &= raw.confidence > 0
    depth = np.where(valid, depth, np.float32(0)).astype(np.float32, copy=False)

    rgb = np.asarray(raw.rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8 or rgb.size == 0:
        raise CaptureError(f"the iPhone sent a colour frame of shape {rgb.shape} {rgb.dtype}")
    rgb_height, rgb_width = rgb.shape[:2]
    fx, fy, tx, ty = raw.coeffs
    try:
        camera = Intrinsics(fx=fx, fy=fy, cx=tx, cy=ty, width=rgb_width, height=rgb_height)
    except ValueError as exc:
        raise CaptureError(f"the iPhone sent unusable intrinsics: {exc}") from None
    if (rgb_width, rgb_height) != (width, height):
        shrink = rgb_width * rgb_height > width * height
        rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        camera = camera.scaled(width, height)
    return Frame(index=index, timestamp=timestamp, intrinsics=camera,
                 rgb=np.ascontiguousarray(rgb), depth=depth)


class Record3DSource(FrameSource):
    """The ``device_index``-th iPhone streaming through Record3D over USB; endless.

    ``first_frame_timeout`` and ``frame_timeout`` (seconds) bound the waits for the first
    frame and between later frames.
    """

    name = "record3d"

    def __init__(self, device_index: int = 0, first_frame_timeout: float = FIRST_FRAME_TIMEOUT_S,
                 frame_timeout: float = FRAME_TIMEOUT_S):
        if device_index < 0:
            raise CaptureError(f"record3d device number must be 0 or more, got {device_index}")
        self.device_index = device_index
        self.first_frame_timeout = first_frame_timeout
        self.frame_timeout = frame_timeout
        self._lock = threading.Lock()
        self._new_frame = threading.Event()
        self._stream: Any = None
        self._latest: _RawFrame | None = None
        self._stop_reason: str | None = None
        self._device_type: int | None = None
        self.dropped_frames = 0

    @property
    def modes(self) -> frozenset[Mode]:
        return frozenset({Mode.RGBD, Mode.DEPTH, Mode.RGB})

    @property
    def fps(self) -> float:
        return LIDAR_FPS if self._device_type == DEVICE_TYPE_LIDAR else TRUEDEPTH_FPS

    @property
    def spec(self) -> str:
        return f"record3d:{self.device_index}"

    # -- the library's thread ------------------------------------------------------------

    def _on_new_frame(self, stream: Any) -> None:
        try:
            if stream is not self._stream:
                return  # a late call from a stream already closed
            coeffs = stream.get_intrinsic_mat()
            raw = _RawFrame(
                rgb=np.array(stream.get_rgb_frame(), copy=True),
                depth=np.array(stream.get_depth_frame(), copy=True),
                confidence=np.array(stream.get_confidence_frame(), copy=True),
                coeffs=(float(coeffs.fx), float(coeffs.fy), float(coeffs.tx), float(coeffs.ty)),
                device_type=int(stream.get_device_type()),
                arrival=time.monotonic(),
            )
        except Exception as exc:  # never let an exception escape into the library's thread
            log.exception("reading a frame from Record3D failed")
            self._stop(f"reading a frame failed: {(str(exc).splitlines() or [type(exc).__name__])[0]}")
            return
        with self._lock:
            if self._latest is not None:
                self.dropped_frames += 1
            self._latest = raw
            self._new_frame.set()

    def _on_stream_stopped(self, stream: Any) -> None:
        if stream is self._stream:
            self._stop(_STOPPED)

    def _stop(self, reason: str) -> None:
        with self._lock:
            if self._stop_reason is None:
                self._stop_reason = reason
                log.warning("iPhone stream stopped: %s", reason)
            self._new_frame.set()

    # -- the consumer's thread -----------------------------------------------------------

    def open(self) -> None:
        if self._stream is not None:
            return
        lib = _library()
        devices = _connected_devices(lib)
        if not devices:
            raise CaptureError("no iPhone connected over USB (open Record3D on the phone, "
                               "turn on USB streaming and plug it in)")
        if self.device_index >= len(devices):
            raise CaptureError(f"no iPhone {self.spec}: only {len(devices)} connected "
                               f"(record3d:0 to record3d:{len(devices) - 1})")
        device = devices[self.device_index]
        stream = lib.Record3DStream()
        with self._lock:
            self._latest, self._stop_reason = None, None
            self._new_frame.clear()
            self.dropped_frames = 0
        self._stream = stream
        _bind_callbacks(self, stream)
        try:
            connected = stream.connect(device)
        except RuntimeError as exc:
            self._stream = None
            raise CaptureError(f"could not connect to iPhone {self.spec}: {exc}") from None
        if not connected:
            self._stream = None
            raise CaptureError(f"could not connect to iPhone {self.spec}; is Record3D in USB streaming "
                               f"mode and the phone unlocked?")
        log.info("connected to iPhone %s (%s)", self.spec, _device_label(device))

    def close(self) -> None:
        stream = self._stream
        if stream is None:
            return
        self._stream = None  # first, so the stop callback that disconnect() fires is ignored
        try:
            stream.disconnect()
        except RuntimeError as exc:
            log.warning("disconnecting iPhone %s: %s", self.spec, exc)
        # The library's reader thread may outlive disconnect() (record3d 1.4 detaches it and
        # it still calls back once more), so the stream object is kept alive, never freed
        # under it. Its callbacks hold only a weak reference to this source.
        _retired_streams.append(stream)
        with self._lock:
            self._latest = None
            self._new_frame.set()  # wake a consumer still waiting
        log.info("disconnected iPhone %s (%d frames dropped)", self.spec, self.dropped_frames)

    def _next_raw(self, timeout: float, first: bool) -> _RawFrame:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                raw, self._latest = self._latest, None
                reason = self._stop_reason
                if raw is None:
                    self._new_frame.clear()
            if raw is not None:
                return raw  # a frame that came before a stop is still delivered
            if reason is not None:
                raise CaptureError(f"iPhone stream stopped: {reason}")
            if self._stream is None:
                raise CaptureError(f"iPhone {self.spec} was closed")
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._new_frame.wait(remaining):
                if first:
                    raise CaptureError(f"no frame from iPhone {self.spec} within {timeout:g} s; "
                                       f"is Record3D streaming over USB?")
                raise CaptureError(f"iPhone stream lost: no frame for {timeout:g} s "
                                   f"(cable unplugged or phone locked?)")

    def frames(self) -> Iterator[Frame]:
        opened_here = self._stream is None
        if opened_here:
            self.open()
        try:
            index = 0
            start = 0.0
            while True:
                first = index == 0
                raw = self._next_raw(self.first_frame_timeout if first else self.frame_timeout, first)
                if first:
                    start = raw.arrival
                    self._device_type = raw.device_type
                    log.info("iPhone %s: %s camera, colour %dx%d, depth %dx%d", self.spec,
                             "LiDAR" if raw.device_type == DEVICE_TYPE_LIDAR else "TrueDepth",
                             raw.rgb.shape[1] if raw.rgb.ndim >= 2 else 0, raw.rgb.shape[0],
                             raw.depth.shape[1] if raw.depth.ndim >= 2 else 0, raw.depth.shape[0])
                yield frame_from_record3d(raw, index, raw.arrival - start)
                index += 1
        finally:
            if opened_here:
                self.close()


# Streams closed in this process; see Record3DSource.close.
_retired_streams: list[Any] = []


def _bind_callbacks(source: Record3DSource, stream: Any) -> None:
    """Point ``stream``'s callbacks at ``source`` without keeping ``source`` alive.

    Set once before connect() and never reassigned: replacing a callback while the library's
    thread may be calling it is not safe.
    """
    ref = weakref.ref(source)

    def on_new_frame() -> None:
        target = ref()
        if target is not None:
            target._on_new_frame(stream)

    def on_stream_stopped() -> None:
        target = ref()
        if target is not None:
            target._on_stream_stopped(stream)

    stream.on_new_frame = on_new_frame
    stream.on_stream_stopped = on_stream_stopped


def parse_record3d(spec: str) -> Record3DSource | None:
    """``record3d`` (the first iPhone) or ``record3d:N``, else None."""
    number = parse_device_number(spec, "record3d", "device number")
    return None if number is None else Record3DSource(number)
