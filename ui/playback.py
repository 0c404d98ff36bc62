"""Playback control of a frame source for the window: pause, play, seek, paced to its frame rate.

Qt-free. :class:`ControlledSource` wraps the source a :class:`app.session.Session` reads; the
GUI's timeline calls :meth:`ControlledSource.play`, :meth:`~ControlledSource.pause` and
:meth:`~ControlledSource.seek` from its thread. Sources with random access (``frame_at``) are
read by index, so they can be paused and scrubbed; other sources are read in order. Recordings
are paced to their frame rate (the pacing restarts after a pause or a seek); live sources come
as fast as the device delivers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from capture.base import FrameSource
from models.frame import Frame
from models.mode import Mode


@dataclass(frozen=True)
class SourceInfo:
    """What the window shows about an opened source.

    seekable: the source has random access and a known length (the window shows a timeline).
    """

    name: str
    modes: frozenset[Mode]
    default_mode: Mode
    fps: float
    num_frames: int | None
    seekable: bool


class ControlledSource(FrameSource):
    """``inner`` with pause, play and seek.

    Args:
        inner: the source (unopened; opened with this one).
        pace: deliver frames no faster than the source's frame rate (recordings, synthetic).
        on_open: called with a :class:`SourceInfo` on the source thread once ``inner`` is open.
        on_end: called on the source thread when an in-order source runs out of frames.
    """

    def __init__(self, inner: FrameSource, *, pace: bool,
                 on_open: Callable[[SourceInfo], None] | None = None,
                 on_end: Callable[[], None] | None = None):
        self.inner = inner
        self.name = inner.name
        self.pace = pace
        self.on_open = on_open
        self.on_end = on_end
        self._cond = threading.Condition()
        self._playing = True
        self._seek: int | None = None
        self._next = 0
        self._stopped = False
        self._length: int | None = None

    # -- FrameSource --------------------------------------------------------------------------

    @property
    def modes(self) -> frozenset[Mode]:
        return self.inner.modes

    @property
    def fps(self) -> float:
        return self.inner.fps

    @property
    def num_frames(self) -> int | None:
        return self.inner.num_frames

    @property
    def random_access(self) -> bool:
        return callable(getattr(self.inner, "frame_at", None))

    def open(self) -> None:
        self.inner.open()
        self._length = self.inner.num_frames
        info = SourceInfo(name=self.inner.name, modes=self.inner.modes, default_mode=self.inner.default_mode,
                          fps=float(self.inner.fps), num_frames=self._length,
                          seekable=self.random_access and self._length is not None)
        if self.on_open is not None:
            self.on_open(info)

    def close(self) -> None:
        self.inner.close()

    def frames(self) -> Iterator[Frame]:
        if self.random_access:
            yield from self._by_index()
        else:
            yield from self._in_order()
            if self.on_end is not None and not self._stopped:
                self.on_end()

    # -- control (any thread) -----------------------------------------------------------------

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def position(self) -> int:
        """The index of the next frame to deliver."""
        return self._next

    def play(self) -> None:
        with self._cond:
            if self._length is not None and self._next >= self._length and self._seek is None:
                self._seek = 0  # at the end: start over
            self._playing = True
            self._cond.notify_all()

    def pause(self) -> None:
        with self._cond:
            self._playing = False
            self._cond.notify_all()

    def seek(self, index: int) -> None:
        """Deliver frame ``index`` next (also when paused); playing goes on from there."""
        with self._cond:
            last = (self._length - 1) if self._length else None
            self._seek = max(0, index if last is None else min(index, last))
            self._cond.notify_all()

    def interrupt(self) -> None:
        """End the iteration (a waiting pause or pacing included); the session then stops."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    # -- iteration (source thread) ------------------------------------------------------------

    def _next_index(self, due: float | None) -> tuple[int | None, float | None]:
        """(index to deliver or None to stop, pacing deadline) once it is time to deliver."""
        with self._cond:
            while True:
                if self._stopped:
                    return None, due
                if self._seek is not None:
                    index, self._seek = self._seek, None
                    return index, None
                if not self._playing or (self._length is not None and self._next >= self._length):
                    self._playing = self._playing and (self._length is None or self._next < self._length)
                    due = None
                    self._cond.wait()
                    continue
                if self.pace and due is not None:
                    delay = due - time.perf_counter()
                    if delay > 0:
                        self._cond.wait(delay)
                        continue
                return self._next, due

    def _by_index(self) -> Iterator[Frame]:
        period = 1.0 / self.inner.fps if self.inner.fps > 0 else 0.0
        due: float | None = None
        while True:
            index, due = self._next_index(due)
            if index is None:
                return
            frame = self.inner.frame_at(index)
            with self._cond:
                if self._seek is None:
                    self._next = index + 1
            now = time.perf_counter()
            due = now + period if due is None else max(due + period, now)
            yield frame

    def _in_order(self) -> Iterator[Frame]:
        start: float | None = None
        for frame in self.inner.frames():
            if self._stopped:
                return
            if self.pace:
                if start is None:
                    start = time.perf_counter() - frame.timestamp
                delay = start + frame.timestamp - time.perf_counter()
                if delay > 0:
                    with self._cond:
                        if self._cond.wait_for(lambda: self._stopped, delay):
                            return
            self._next = frame.index + 1
            yield frame
