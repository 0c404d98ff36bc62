"""Playing back a RealSense recording (``.bag``, ROS 1; ``.db3``, ROS 2) through ``pyrealsense2``.

``PATH.bag`` or ``PATH.db3``. Modes follow the recorded streams: depth and colour -> RGB-D,
depth and RGB; depth only -> depth; colour only -> RGB. Other recorded streams (infrared,
IMU) are not read.

Every recorded frame is played: the playback device is switched out of real time
(``set_real_time(False)``) before the pipeline starts, and paused while the pipeline starts
its sensors one by one (the SDK starts reading the file with the first sensor and drops
frames of sensors not yet started), then resumed. ``resume()`` waits on the SDK's reader
thread, which waits for the consumer once the pipeline's one-frameset queue is full, so it
runs on a short-lived helper thread while :meth:`frames` takes framesets (called on the
consumer's thread it stalls for the SDK's 10 s flush timeout now and then).

One :class:`Frame` per frame of the primary stream (depth when recorded, else colour), in
file order, indexed from 0. The pipeline's framesets repeat a stream's latest frame while
another stream moves on (depth 2 with colour 1, then depth 2 with colour 2), so for each
depth frame the colour frame nearest to it in time among those the SDK paired with it is
kept (see :class:`FramesetPairer`). Depth (z16, scaled by the recorded depth sensor's ``get_depth_scale()``) is aligned
onto the colour grid with ``rs.align(rs.stream.color)`` when both are recorded; frames carry
that stream's intrinsics. Timestamps are the primary stream's SDK timestamps (ms), in seconds
since the first frame.

The end of the file is the playback device's status turning ``stopped`` (polled whenever no
frameset came within 0.1 s; by then every frameset has been queued); a playback that stalls
for ``stall_timeout_s`` without reaching the end raises :class:`CaptureError`. A missing file, a file the SDK cannot read, or
a recording without depth or colour raise a one-line :class:`CaptureError`.

``num_frames``: the SDK cannot tell how many frames a recording holds; for ``.db3`` files
(SQLite) the primary stream's image messages are counted; ``.bag`` files give None.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from capture.base import CaptureError, FrameSource, Mode
from capture.realsense_frames import depth_in_metres, intrinsics_from_profile, rgb_image
from models.camera import Intrinsics
from models.frame import Frame

try:
    import pyrealsense2 as rs
except ImportError:  # optional: only RealSense recordings need it
    rs = None

log = logging.getLogger(__name__)

RECORDING_SUFFIXES = (".bag", ".db3")
POLL_MS = 100
STALL_TIMEOUT_S = 10.0
RESUME_JOIN_S = 12.0  # the SDK gives up waiting for its reader thread after 10 s
_NOT_INSTALLED = "the pyrealsense2 package is not installed (pip install pyrealsense2) so .bag/.db3 files cannot be read"
_END = object()  # what _next_frameset returns once the whole file has been played


def _sdk() -> Any:
    if rs is None:
        raise CaptureError(_NOT_INSTALLED)
    return rs


def _reason(exc: BaseException) -> str:
    """The useful tail of an SDK error ("... was invalid, Reason: X" -> "X"), on one line."""
    text = " ".join(str(exc).split())
    return text.rsplit("Reason: ", 1)[-1] or type(exc).__name__


@dataclass(frozen=True)
class RecordingLayout:
    """What a recording holds: which streams, the primary stream's frame rate and frame count."""

    has_depth: bool
    has_color: bool
    fps: float
    num_frames: int | None

    @property
    def modes(self) -> frozenset[Mode]:
        if self.has_depth and self.has_color:
            return frozenset({Mode.RGBD, Mode.DEPTH, Mode.RGB})
        return frozenset({Mode.DEPTH} if self.has_depth else {Mode.RGB})


def count_db3_images(path: Path, stream: str) -> int | None:
    """Messages on the ``/<stream>_0/image/data`` topic of a ROS 2 ``.db3`` recording, or None."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            (count,) = db.execute(
                "SELECT COUNT(*) FROM messages JOIN topics ON messages.topic_id = topics.id "
                "WHERE topics.name LIKE ?", (f"%/{stream}_0/image/data%",)).fetchone()
    except sqlite3.Error as exc:
        log.debug("cannot count frames in %s: %s", path, exc)
        return None
    return int(count) if count else None


@dataclass
class PairedFrame:
    """One primary-stream frame with the colour chosen for it (arrays already copied)."""

    key: tuple[int, float]  # (frame number, timestamp ms) of the primary frame
    stamp_ms: float
    depth: np.ndarray | None
    rgb: np.ndarray | None
    color_key: tuple[int, float] | None
    color_stamp_ms: float


def _frame_key(frame: Any) -> tuple[int, float]:
    return int(frame.get_frame_number()), float(frame.get_timestamp())


class FramesetPairer:
    """The pipeline's framesets -> one :class:`PairedFrame` per primary-stream frame.

    The pipeline hands out a frameset whenever any stream has a new frame, repeating the other
    streams' latest frames, so a depth frame can come first with the previous colour frame and
    then again with its own. A frame is held until a frameset with another primary frame shows
    up (:meth:`push` then returns it) or the stream ends (:meth:`flush`); meanwhile the colour
    frame nearest to it in time wins. ``depth_of(frameset)`` gives the set's depth in metres on
    the output grid (aligned and scaled).
    """

    def __init__(self, has_depth: bool, has_color: bool, depth_of: Callable[[Any], np.ndarray]):
        self.has_depth, self.has_color = has_depth, has_color
        self._depth_of = depth_of
        self._pending: PairedFrame | None = None

    def push(self, frameset: Any) -> PairedFrame | None:
        depth = frameset.get_depth_frame() if self.has_depth else None
        color = frameset.get_color_frame() if self.has_color else None
        primary = depth if self.has_depth else color
        if not primary:
            return None
        key = _frame_key(primary)
        pending = self._pending
        if pending is not None and key == pending.key:
            if self.has_depth and color:
                self._maybe_better_color(pending, color)
            return None
        color_key = _frame_key(color) if color else None
        self._pending = PairedFrame(
            key=key, stamp_ms=key[1], depth=self._depth_of(frameset) if self.has_depth else None,
            rgb=rgb_image(color) if color else None, color_key=color_key,
            color_stamp_ms=color_key[1] if color_key else key[1])
        return pending

    def flush(self) -> PairedFrame | None:
        pending, self._pending = self._pending, None
        return pending

    @staticmethod
    def _maybe_better_color(pending: PairedFrame, color: Any) -> None:
        color_key = _frame_key(color)
        if color_key == pending.color_key:
            return
        if pending.rgb is None or abs(color_key[1] - pending.stamp_ms) <= abs(pending.color_stamp_ms - pending.stamp_ms):
            pending.rgb = rgb_image(color)
            pending.color_key, pending.color_stamp_ms = color_key, color_key[1]


class RealSenseFileSource(FrameSource):
    """A ``.bag`` or ``.db3`` RealSense recording, played once, every frame, as fast as read."""

    def __init__(self, path: str | Path, stall_timeout_s: float = STALL_TIMEOUT_S):
        self.path = Path(path).expanduser()
        self.name = self.path.name
        self.stall_timeout_s = stall_timeout_s
        self._layout: RecordingLayout | None = None
        self._pipeline: Any = None
        self._align: Any = None
        self._profile: Any = None
        self._playback: Any = None
        self._resumer: threading.Thread | None = None
        self._depth_scale = 0.0
        self._intrinsics: Intrinsics | None = None

    # -- what the file holds -------------------------------------------------------------

    @property
    def layout(self) -> RecordingLayout:
        """The recorded streams (read from the file the first time it is asked for)."""
        if self._layout is None:
            self._layout = self._read_layout()
        return self._layout

    @property
    def modes(self) -> frozenset[Mode]:
        return self.layout.modes

    @property
    def fps(self) -> float:
        return self.layout.fps

    @property
    def num_frames(self) -> int | None:
        return self.layout.num_frames

    def _check_file(self) -> None:
        if not self.path.is_file():
            raise CaptureError(f"no such file: {self.path}")
        if self.path.suffix.lower() not in RECORDING_SUFFIXES:
            raise CaptureError(f"{self.path} is not a RealSense recording (expected .bag or .db3)")

    def _resolve(self, lib: Any, streams: tuple[Any, ...]) -> tuple[Any, Any, Any]:
        """(pipeline, config, resolved profile) for the file, with ``streams`` enabled (all if empty)."""
        self._check_file()
        pipeline = lib.pipeline()
        config = lib.config()
        try:
            config.enable_device_from_file(str(self.path), repeat_playback=False)
            for stream in streams:
                config.enable_stream(stream)
            profile = config.resolve(pipeline)
        except RuntimeError as exc:
            raise CaptureError(f"cannot read RealSense recording {self.path} (corrupt, or not a RealSense "
                               f"recording): {_reason(exc)}") from None
        return pipeline, config, profile

    def _read_layout(self) -> RecordingLayout:
        lib = _sdk()
        _, _, profile = self._resolve(lib, ())
        by_type: dict[Any, Any] = {}
        for stream_profile in profile.get_streams():
            by_type.setdefault(stream_profile.stream_type(), stream_profile)
        depth, color = by_type.get(lib.stream.depth), by_type.get(lib.stream.color)
        if depth is None and color is None:
            found = ", ".join(str(t) for t in by_type) or "nothing"
            raise CaptureError(f"RealSense recording {self.path} holds no depth or colour stream (found {found})")
        primary = depth if depth is not None else color
        num_frames = None
        if self.path.suffix.lower() == ".db3":
            num_frames = count_db3_images(self.path, "Depth" if depth is not None else "Color")
        return RecordingLayout(has_depth=depth is not None, has_color=color is not None,
                               fps=float(primary.fps()), num_frames=num_frames)

    # -- playing -------------------------------------------------------------------------

    def open(self) -> None:
        if self._pipeline is not None:
            return
        lib = _sdk()
        layout = self.layout
        streams = tuple(s for s, present in ((lib.stream.depth, layout.has_depth),
                                             (lib.stream.color, layout.has_color)) if present)
        pipeline, config, profile = self._resolve(lib, streams)
        try:
            device = profile.get_device()
            playback = device.as_playback()
            playback.set_real_time(False)
            if layout.has_depth:
                self._depth_scale = float(device.first_depth_sensor().get_depth_scale())
            grid = lib.stream.color if layout.has_color else lib.stream.depth
            self._intrinsics = intrinsics_from_profile(profile.get_stream(grid))
            self._align = lib.align(lib.stream.color) if layout.has_depth and layout.has_color else None
            playback.pause()
            pipeline.start(config)
        except RuntimeError as exc:
            raise CaptureError(f"cannot play RealSense recording {self.path}: {_reason(exc)}") from None
        # Keep the handles: the playback status is read through them (and the SDK drops a
        # device's status callback once the last handle goes).
        self._pipeline, self._profile, self._playback = pipeline, profile, playback
        # resume() waits for the SDK's reader thread, which blocks once the pipeline's queue is
        # full, so it must not run on the thread that empties that queue (frames()).
        self._resumer = threading.Thread(target=self._resume, args=(playback,), name="realsense-resume",
                                         daemon=True)
        self._resumer.start()
        log.info("playing %s: %s at %g fps, %s frames", self.path, ", ".join(m.value for m in layout.modes),
                 layout.fps, layout.num_frames if layout.num_frames is not None else "unknown")

    def _resume(self, playback: Any) -> None:
        try:
            playback.resume()
        except RuntimeError as exc:  # frames() then sees no progress and reports the stall
            log.error("cannot resume playback of %s: %s", self.path, _reason(exc))

    def close(self) -> None:
        resumer, self._resumer = self._resumer, None
        pipeline, self._pipeline = self._pipeline, None
        self._align = self._profile = self._playback = None
        if pipeline is None:
            return
        try:
            pipeline.stop()
        except RuntimeError as exc:
            log.debug("stopping playback of %s: %s", self.path, _reason(exc))
        if resumer is not None:
            resumer.join(timeout=RESUME_JOIN_S)

    def frames(self) -> Iterator[Frame]:
        if self._pipeline is None:
            self.open()
        layout = self.layout
        pairer = FramesetPairer(layout.has_depth, layout.has_color, self._depth_of)
        first_ms: float | None = None
        index = 0
        last_progress = time.monotonic()
        while self._pipeline is not None:
            frameset = self._next_frameset()
            if frameset is _END:
                break
            if frameset is None:
                if time.monotonic() - last_progress > self.stall_timeout_s:
                    self.close()
                    raise CaptureError(f"RealSense recording {self.path} stopped playing before its end")
                continue
            last_progress = time.monotonic()
            done = pairer.push(frameset)
            if done is not None:
                first_ms = done.stamp_ms if first_ms is None else first_ms
                yield self._frame(done, index, first_ms)
                index += 1
        else:
            return  # closed while playing: the pending frame is not known to be final
        last = pairer.flush()
        if last is not None:
            first_ms = last.stamp_ms if first_ms is None else first_ms
            yield self._frame(last, index, first_ms)
            index += 1
        if layout.num_frames is not None and index < layout.num_frames:
            log.warning("%s ended after %d of its %d frames", self.path, index, layout.num_frames)

    def _depth_of(self, frameset: Any) -> np.ndarray:
        depth = self._align.process(frameset).get_depth_frame() if self._align is not None else frameset.get_depth_frame()
        return depth_in_metres(depth, self._depth_scale)

    def _next_frameset(self) -> Any:
        """A frameset; None when none came within the poll; ``_END`` once the file is played."""
        pipeline = self._pipeline
        try:
            ok, frameset = pipeline.try_wait_for_frames(POLL_MS)
            if ok:
                return frameset
            # After resume() the status reads "playing" until the reader has dispatched the
            # last frame and every sensor has stopped.
            if self._playback.current_status() != rs.playback_status.stopped:
                return None
            # The end was reported after the last frameset was queued: take what is left.
            frameset = pipeline.poll_for_frames()
        except RuntimeError as exc:
            self.close()
            raise CaptureError(f"reading RealSense recording {self.path} failed: {_reason(exc)}") from None
        return frameset if frameset else _END

    def _frame(self, paired: PairedFrame, index: int, first_ms: float) -> Frame:
        return Frame(index=index, timestamp=(paired.stamp_ms - first_ms) / 1000.0, intrinsics=self._intrinsics,
                     rgb=paired.rgb, depth=paired.depth)


def parse_realsense_file(spec: str) -> RealSenseFileSource | None:
    """A path ending in ``.bag`` or ``.db3`` (any case), else None."""
    if not spec.strip().lower().endswith(RECORDING_SUFFIXES):
        return None
    return RealSenseFileSource(spec.strip())
