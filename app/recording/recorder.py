"""Recording a take: every raw frame into an ``.r3d`` archive, every result into a results log.

>>> with Recorder.new_in("takes/", fps=30.0, face_model=model) as recorder:
...     recorder.add_frame(frame)      # capture thread: never blocks
...     recorder.add_result(result)    # pipeline thread: never blocks
>>> recorder.summary.frames_dropped

One writer thread drains a queue: frames go to :class:`capture.r3d_writer.R3DWriter` (JPEG
colour, LZFSE depth, per-frame timestamps; ``NAME.r3d.partial`` until closed) and results to
:class:`~app.recording.results_log.ResultsLogWriter`. The queue holds at most ``queue_frames``
raw frames (memory is bounded); when it is full the frame is dropped, counted and logged in the
results log (a DROP record) rather than lost silently, and the capture thread is never blocked.
Recording is independent of display: the viewport may skip frames, the recorder takes every
frame it is given. Both files are written unbuffered, record by record, so a crash or a kill
leaves every complete frame readable (:meth:`app.recording.take.Take.open`). A full disk stops
the archive; the error and the counts are in :attr:`Recorder.stats` and in the summary
(``NAME.summary.json``, written at close).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np

from app.recording.errors import RecordingError
from app.recording.paths import TakePaths
from app.recording.results_log import (
    DROP_QUEUE_FULL,
    DROP_WRITE_FAILED,
    LogHeader,
    ResultsLogWriter,
    is_disk_full,
)
from app.recording.summary import TakeSummary
from capture.base import CaptureError
from capture.r3d_writer import R3DWriter
from models.face_model import REGION_SIZES, FaceModel
from models.face_result import FaceResult
from models.frame import Frame

log = logging.getLogger(__name__)

DEFAULT_QUEUE_FRAMES = 64
DEFAULT_QUEUE_RESULTS = 1024
SYNC_INTERVAL_S = 2.0
_STOP = object()


@dataclass(frozen=True)
class RecorderStats:
    """A snapshot of the recorder's counters (see :class:`TakeSummary` for their meaning)."""

    frames_captured: int
    frames_written: int
    frames_dropped: int
    frames_processed: int
    results_dropped: int
    queued: int
    error: str | None


class Recorder:
    """Records one take (see the module docstring).

    Args:
        path: the take: ``DIR/NAME`` or ``DIR/NAME.r3d`` (files ``NAME.r3d``, ``NAME.results``,
            ``NAME.summary.json``); none of them may exist yet.
        fps: the source's nominal frame rate.
        face_model: the model results are fitted with (sizes and names for the results log).
        store_vertices: keep each result's vertices (about 113 kB per frame); False stores only
            the pose and coefficients they are rebuilt from (about 2 kB per frame), exactly
            when ``decoder`` names the decoder graph that made them.
        decoder: SHA-256 of the pipeline's decoder graph (:func:`decoder_id`), recorded in the
            results log's header.
        queue_frames: raw frames that may wait for the writer before new ones are dropped.
        queue_results: results that may wait before new ones are dropped.
        jpeg_quality, camera_type: passed to :class:`R3DWriter`.
    """

    def __init__(self, path: str | os.PathLike, *, fps: float, face_model: FaceModel | None = None,
                 store_vertices: bool = True, decoder: str = "", queue_frames: int = DEFAULT_QUEUE_FRAMES,
                 queue_results: int = DEFAULT_QUEUE_RESULTS, jpeg_quality: int = 90, camera_type: int = 0,
                 wait_for_writer: bool = False):
        if not (fps > 0):
            raise RecordingError(f"cannot record {path}: the frame rate must be positive, got {fps!r}")
        self.paths = TakePaths.of(path)
        if self.paths.any_exists():
            raise RecordingError(f"cannot record {self.paths.r3d}: a take with this name already exists")
        if not self.paths.base.parent.is_dir():
            raise RecordingError(f"cannot record {self.paths.r3d}: folder {self.paths.base.parent} does not exist")
        self.fps = float(fps)
        self.wait_for_writer = wait_for_writer
        self._jpeg_quality = jpeg_quality
        self._camera_type = camera_type
        header = LogHeader(
            fps=self.fps,
            num_identity=face_model.num_identity if face_model else 100,
            num_expression=face_model.num_expression if face_model else 53,
            num_vertices=REGION_SIZES["face"] if store_vertices else 0,
            expression_names=face_model.expression_names if face_model else (),
            face_model=face_model.source if face_model else "", decoder=decoder)
        try:
            self._results = ResultsLogWriter(self.paths.results, header)
        except OSError as exc:
            raise RecordingError(f"cannot record {self.paths.results}: {exc.strerror or exc}") from None
        self._results_ok = True
        self._r3d: R3DWriter | None = None
        self._r3d_ok = True
        self._queue: queue.Queue = queue.Queue()
        self._frame_slots = threading.BoundedSemaphore(max(1, queue_frames))
        self._result_slots = threading.BoundedSemaphore(max(1, queue_results))
        self._lock = threading.Lock()
        self._captured = self._written = self._dropped = 0
        self._processed = self._results_dropped = 0
        self._error: str | None = None
        self._first_stamp: float | None = None
        self._last_stamp: float | None = None
        self._warned_queue = False
        self._closed = False
        self.summary: TakeSummary | None = None
        self._thread = threading.Thread(target=self._run, name=f"recorder-{self.paths.name}", daemon=True)
        self._thread.start()
        log.info("recording take %s", self.paths.base)

    @classmethod
    def new_in(cls, folder: str | os.PathLike, **options) -> Recorder:
        """A recorder for a new, uniquely named take in ``folder`` (``take-YYYYMMDD-HHMMSS``)."""
        folder = Path(folder)
        if not folder.is_dir():
            raise RecordingError(f"cannot record into {folder}: not a folder")
        return cls(TakePaths.new_in(folder).base, **options)

    # -- producers (any thread; they block only with wait_for_writer) ---------------------------

    def add_frame(self, frame: Frame) -> bool:
        """Queue a raw frame; False when it was dropped (queue full or recorder failed).

        With ``wait_for_writer`` (offline runs, where nothing may be dropped) a full queue
        makes the caller wait for the writer instead.
        """
        acquired = self._frame_slots.acquire(blocking=self.wait_for_writer)
        with self._lock:
            if self._closed:
                if acquired:
                    self._frame_slots.release()
                raise RecordingError(f"the recording of {self.paths.r3d} is closed")
            self._captured += 1
            if acquired:
                self._queue.put(("frame", frame))
                return True
            self._dropped += 1
            first = not self._warned_queue
            self._warned_queue = True
            self._queue.put(("drop", (frame.index, frame.timestamp, DROP_QUEUE_FULL)))
        if first:
            log.warning("recording %s: the writer is behind, frames are being dropped (frame %d first)",
                        self.paths.r3d, frame.index)
        return False

    def add_result(self, result: FaceResult) -> bool:
        """Queue the pipeline's result for a frame; False when it was dropped."""
        acquired = self._result_slots.acquire(blocking=self.wait_for_writer)
        with self._lock:
            if self._closed:
                if acquired:
                    self._result_slots.release()
                raise RecordingError(f"the recording of {self.paths.r3d} is closed")
            if acquired:
                self._queue.put(("result", result))
                return True
            self._results_dropped += 1
            return False

    @property
    def stats(self) -> RecorderStats:
        with self._lock:
            return RecorderStats(self._captured, self._written, self._dropped, self._processed,
                                 self._results_dropped, self._queue.qsize(), self._error)

    @property
    def error(self) -> str | None:
        """The first write error (one line), or None."""
        return self._error

    # -- the writer thread ---------------------------------------------------------------------

    def _fail(self, message: str) -> None:
        with self._lock:
            if self._error is None:
                self._error = message
        log.error("%s", message)

    def _run(self) -> None:
        last_sync = time.monotonic()
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            kind, payload = item
            try:
                if kind == "frame":
                    try:
                        self._write_frame(payload)
                    finally:
                        self._frame_slots.release()
                elif kind == "result":
                    try:
                        self._write_result(payload)
                    finally:
                        self._result_slots.release()
                else:
                    self._log_record(lambda p=payload: self._results.drop(*p))
                if time.monotonic() - last_sync > SYNC_INTERVAL_S and self._results_ok:
                    self._log_record(self._results.sync)
                    last_sync = time.monotonic()
            except Exception as exc:  # noqa: BLE001 (the thread must keep draining; the error is reported)
                self._fail(f"recording {self.paths.r3d}: unexpected error: {exc}")

    def _log_record(self, action) -> bool:
        if not self._results_ok:
            return False
        try:
            action()
            return True
        except OSError as exc:
            self._results_ok = False
            saved = self._results.counts
            what = "disk full" if is_disk_full(exc) else f"write error ({exc.strerror or exc})"
            self._fail(f"{what} while recording {self.paths.results}: {saved[3]} results and "
                       f"{saved[1]} frame records saved")
            return False

    def _open_archive(self, frame: Frame) -> None:
        width, height = frame.size
        self._r3d = R3DWriter(self.paths.r3d, width, height, self.fps, frame.intrinsics,
                              camera_type=self._camera_type, jpeg_quality=self._jpeg_quality)

    def _write_frame(self, frame: Frame) -> None:
        if self._r3d_ok:
            try:
                if self._r3d is None:
                    self._open_archive(frame)
                width, height = self._r3d.rgb_size
                rgb = frame.rgb if frame.rgb is not None else np.zeros((height, width, 3), np.uint8)
                depth = frame.depth if frame.depth is not None else np.zeros((height, width), np.float32)
                r3d_index = self._r3d.write(rgb, depth, frame.timestamp)
            except (CaptureError, ValueError) as exc:
                self._r3d_ok = False
                self._fail(str(exc) if isinstance(exc, CaptureError) else
                           f"recording {self.paths.r3d} stopped at frame {frame.index}: {exc}")
            else:
                with self._lock:
                    self._written += 1
                    self._first_stamp = frame.timestamp if self._first_stamp is None else self._first_stamp
                    self._last_stamp = frame.timestamp
                self._log_record(lambda: self._results.frame(r3d_index, frame.index, frame.timestamp))
                return
        with self._lock:
            self._dropped += 1
        self._log_record(lambda: self._results.drop(frame.index, frame.timestamp, DROP_WRITE_FAILED))

    def _write_result(self, result: FaceResult) -> None:
        try:
            ok = self._log_record(lambda: self._results.result(result))
        except ValueError as exc:
            self._fail(f"recording {self.paths.results}: {exc}")
            ok = False
        with self._lock:
            if ok:
                self._processed += 1
            else:
                self._results_dropped += 1

    # -- closing -------------------------------------------------------------------------------

    def close(self) -> TakeSummary:
        """Write everything still queued, finish both files and the summary; returns it.

        Errors met while closing are reported in the summary (and logged), not raised, so a
        take is always closed as far as the disk allows. Safe to call twice.
        """
        if self.summary is not None:
            return self.summary
        with self._lock:
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join()
        if self._r3d is not None:
            try:
                if self._r3d.close() is None:
                    log.warning("take %s kept as %s", self.paths.base, self.paths.r3d_partial)
            except CaptureError as exc:
                self._fail(str(exc))
        try:
            self._results.close()
        except OSError as exc:
            self._fail(f"closing {self.paths.results}: {exc.strerror or exc}")
        stats = self.stats
        duration = 0.0 if self._first_stamp is None else self._last_stamp - self._first_stamp
        self.summary = TakeSummary(
            frames_captured=stats.frames_captured, frames_written=stats.frames_written,
            frames_dropped=stats.frames_dropped, frames_processed=stats.frames_processed,
            results_dropped=stats.results_dropped, fps=self.fps, duration_s=duration,
            complete=True, error=stats.error)
        try:
            self.summary.write(self.paths.summary)
        except OSError as exc:
            log.error("could not write the summary %s: %s (the counts can be rebuilt from the take's files)",
                      self.paths.summary, exc.strerror or exc)
        log.info("take %s: %d frames captured, %d written, %d dropped, %d processed", self.paths.base,
                 stats.frames_captured, stats.frames_written, stats.frames_dropped, stats.frames_processed)
        return self.summary

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
