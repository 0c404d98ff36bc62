"""A running capture session: a source thread and a processing thread joined by a slot.

The source thread reads frames (pacing recordings to their frame rate when asked), hands
every frame to the frame taps (the recorder: it must see every frame), then to the
processing thread through a :class:`LatestSlot`: for live viewing the newest frame wins and
stale frames are counted as dropped; for offline runs nothing is dropped. Results go to
the result callbacks on the processing thread. Errors end the session and reach
``on_error`` as exceptions carrying one-line messages.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

from app.frame_slot import LatestSlot, SlotClosed
from capture.base import FrameSource
from models.errors import FaceFromXError
from models.face_result import FaceResult
from models.frame import Frame

log = logging.getLogger(__name__)

FrameTap = Callable[[Frame], None]
ResultSink = Callable[[Frame, FaceResult], None]  # each result with the frame it came from


class InternalError(FaceFromXError):
    """A bug surfaced in a session thread; the session ends with this one-line message."""


@dataclass
class SessionStats:
    """Counts since the session started: frames read, processed and dropped (stale); the
    milliseconds each frame took the source to deliver; the errors that ended the session."""

    captured: int = 0
    processed: int = 0
    dropped: int = 0
    decode_ms: list[float] = field(default_factory=list)
    errors: list[Exception] = field(default_factory=list)


class Session:
    """Runs ``process`` over the frames of ``source`` on two threads.

    Args:
        source: an unopened frame source (the session opens and closes it).
        process: frame -> result (the pipeline); runs on the processing thread.
        drop_stale: newest-frame-wins between the threads (live display) or not (offline).
        pace: sleep so that a recording plays at its frame rate (GUI playback).
        max_frames: stop after this many source frames (None: until the source ends).
    """

    def __init__(self, source: FrameSource, process: Callable[[Frame], FaceResult], *,
                 drop_stale: bool = True, pace: bool = False, max_frames: int | None = None):
        self.source = source
        self.process = process
        self.pace = pace
        self.max_frames = max_frames
        self.stats = SessionStats()
        self.frame_taps: list[FrameTap] = []
        self.result_sinks: list[ResultSink] = []
        self.on_error: Callable[[Exception], None] | None = None
        self._slot: LatestSlot[Frame] = LatestSlot(drop_stale=drop_stale)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._threads = [
            threading.Thread(target=self._read_frames, name="facefromx-source", daemon=True),
            threading.Thread(target=self._process_frames, name="facefromx-pipeline", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Ask both threads to end (returns at once; :meth:`join` waits)."""
        self._stop.set()
        self._slot.close()

    def join(self, timeout: float | None = None) -> None:
        for thread in self._threads:
            thread.join(timeout)

    @property
    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def run(self) -> SessionStats:
        """Start, wait for the source to end (or :meth:`stop`), and return the counts."""
        self.start()
        self.join()
        return self.stats

    def _fail(self, exc: Exception) -> None:
        self.stats.errors.append(exc)
        self._stop.set()
        self._slot.close()
        if self.on_error is not None:
            self.on_error(exc)
        else:
            log.error("%s", exc)

    @contextmanager
    def _thread_boundary(self, part: str):
        """Ends one thread's work: a closed slot is the normal end, a FaceFromXError is reported as
        it is, anything else (a bug) is reported as one line and ends the session rather than
        hanging it; either way the slot is closed so that the other thread stops too."""
        try:
            yield
        except SlotClosed:
            pass
        except FaceFromXError as exc:
            self._fail(exc)
        except Exception as exc:  # a thread boundary: a bug must end the session, not hang it
            log.exception("the %s failed", part)
            self._fail(InternalError(f"internal error in the {part}: {type(exc).__name__}: {exc}"))
        finally:
            self._slot.close()

    def _read_frames(self) -> None:
        with self._thread_boundary("source"), self.source:
            start = time.perf_counter()
            frames = iter(self.source)
            while not self._stop.is_set():
                tick = time.perf_counter()
                frame = next(frames, None)
                if frame is None or self._stop.is_set():  # stopped while reading: not taken
                    break
                self.stats.decode_ms.append((time.perf_counter() - tick) * 1000.0)
                if self.pace:
                    delay = frame.timestamp - (time.perf_counter() - start)
                    if delay > 0 and self._stop.wait(delay):
                        break
                self.stats.captured += 1
                for tap in self.frame_taps:
                    tap(frame)
                self._slot.put(frame)
                self.stats.dropped = self._slot.dropped
                if self.max_frames is not None and self.stats.captured >= self.max_frames:
                    break

    def _process_frames(self) -> None:
        with self._thread_boundary("pipeline"):
            while True:
                frame = self._slot.get(timeout=0.5)
                if frame is None:
                    continue
                result = self.process(frame)
                self.stats.processed += 1
                for sink in self.result_sinks:
                    sink(frame, result)
        self.stats.dropped = self._slot.dropped
