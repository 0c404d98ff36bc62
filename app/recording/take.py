"""Reading a recorded take back, for re-processing and export.

>>> take = Take.open("takes/take-20250101-120000.r3d")   # or .r3d.partial, .results, the bare name
>>> take.summary.frames_dropped
>>> with take.source() as source:                        # raw frames, to run the pipeline again
...     for frame in source: ...
>>> take.export("take.abc", face_model=model)            # the recorded results, exported

Takes cut short by a crash, a kill or a full disk open too: the archive is recovered from
``NAME.r3d.partial`` up to its last complete frame (:class:`capture.r3d.R3DSource`), the
results log up to its last complete record, and the summary is rebuilt from both files.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from app.export import CancelFlag, ProgressCallback, exporter_for
from app.export.space import Space
from app.recording.errors import RecordingError
from app.recording.mesh_rebuild import MeshRebuilder
from app.recording.paths import TakePaths
from app.recording.results_log import LogHeader, ResultsLog, read_results_log
from app.recording.summary import TakeSummary
from capture.base import CaptureError, FrameSource, Mode
from capture.r3d import R3DSource
from models.face_model import FaceModel
from models.face_result import FaceResult
from models.frame import Frame

log = logging.getLogger(__name__)


class TakeSource(FrameSource):
    """The raw frames of a take, numbered and timed as when they were captured."""

    def __init__(self, archive: Path, capture_indices: np.ndarray, timestamps: np.ndarray,
                 workers: int | None = None):
        self._source = R3DSource(archive, workers=workers)
        self._indices = capture_indices
        self._timestamps = timestamps
        self.name = archive.name

    @property
    def modes(self) -> frozenset[Mode]:
        return self._source.modes

    @property
    def fps(self) -> float:
        return self._source.fps

    @property
    def num_frames(self) -> int:
        return len(self._indices)

    def open(self) -> None:
        self._source.open()

    def close(self) -> None:
        self._source.close()

    def frames(self) -> Iterator[Frame]:
        for position, frame in enumerate(self._source.frames()):
            if position >= len(self._indices):
                return
            yield dataclasses.replace(frame, index=int(self._indices[position]),
                                      timestamp=float(self._timestamps[position]))


class Take:
    """A recorded take: raw frames (``.r3d``), results (``.results``) and its summary.

    Attributes:
        paths: the take's file names.
        archive: the ``.r3d`` (or ``.r3d.partial``) holding the raw frames, None if there is none.
        log: the results log read back, None if there is none.
        num_frames: raw frames readable from the archive.
        capture_indices, timestamps: (num_frames,) source frame number and time (s) of each.
        fps: the take's frame rate.
        summary: from ``NAME.summary.json``, or rebuilt from the files (``complete`` False).
    """

    def __init__(self, paths: TakePaths, archive: Path | None, log_: ResultsLog | None, num_frames: int,
                 fps: float):
        self.paths = paths
        self.archive = archive
        self.log = log_
        self.num_frames = num_frames
        self.fps = fps
        self.capture_indices, self.timestamps = self._frame_numbers()
        self.summary = self._summary()

    @classmethod
    def open(cls, path: str | os.PathLike) -> Take:
        """Open the take at ``path`` (``NAME``, ``NAME.r3d``, ``NAME.r3d.partial``, ``NAME.results``).

        Raises :class:`RecordingError` (or :class:`CaptureError` for a corrupt archive) with one line.
        """
        paths = TakePaths.of(path)
        archive = paths.archive()
        results_log = read_results_log(paths.results) if paths.results.exists() else None
        if archive is None and results_log is None:
            raise RecordingError(f"no take at {path}: expected {paths.r3d.name} or {paths.results.name}")
        num_frames, fps = 0, results_log.header.fps if results_log is not None else 0.0
        if archive is not None:
            try:
                with R3DSource(archive, workers=1) as source:
                    num_frames, fps = source.num_frames, source.fps
            except CaptureError:
                if results_log is None or archive.name.endswith(".r3d"):
                    raise
                log.warning("%s holds no complete frame; the take has results only", archive)
                archive = None
        return cls(paths, archive, results_log, num_frames, fps)

    @property
    def header(self) -> LogHeader | None:
        return None if self.log is None else self.log.header

    @property
    def num_results(self) -> int:
        return 0 if self.log is None else self.log.num_results

    def _frame_numbers(self) -> tuple[np.ndarray, np.ndarray]:
        n = self.num_frames
        indices = np.arange(n, dtype=np.int64)
        stamps = indices / self.fps if self.fps > 0 else np.zeros(n)
        records = self.log.frames if self.log is not None else np.zeros(0)
        known = 0
        for record in records:
            r3d_index = int(record["r3d_index"])
            if 0 <= r3d_index < n:
                indices[r3d_index] = record["capture_index"]
                stamps[r3d_index] = record["timestamp"]
                known = max(known, r3d_index + 1)
        if 0 < known < n:  # frames whose FRAME record was not written before a crash
            step = np.arange(1, n - known + 1)
            indices[known:] = indices[known - 1] + step
            stamps[known:] = stamps[known - 1] + step / self.fps
        return indices, stamps

    def _summary(self) -> TakeSummary:
        if self.paths.summary.exists():
            try:
                return TakeSummary.read(self.paths.summary)
            except (OSError, ValueError, TypeError) as exc:
                log.warning("ignoring the unreadable summary %s: %s", self.paths.summary, exc)
        dropped = 0 if self.log is None else len(self.log.drops)
        duration = float(self.timestamps[-1] - self.timestamps[0]) if self.num_frames else 0.0
        return TakeSummary(frames_captured=self.num_frames + dropped, frames_written=self.num_frames,
                           frames_dropped=dropped, frames_processed=self.num_results, results_dropped=0,
                           fps=self.fps, duration_s=duration, complete=False,
                           error="the take was not closed (crash, kill or full disk); counts rebuilt from its files")

    # -- raw frames ----------------------------------------------------------------------------

    def source(self, workers: int | None = None) -> TakeSource:
        """The raw frames as a frame source (use as a context manager), to process them again."""
        if self.archive is None:
            raise RecordingError(f"take {self.paths.base} has no raw frames ({self.paths.r3d.name} is missing)")
        return TakeSource(self.archive, self.capture_indices, self.timestamps, workers=workers)

    # -- results -------------------------------------------------------------------------------

    def iter_results(self, face_model: FaceModel | None = None) -> Iterator[FaceResult]:
        """The recorded results in source order.

        When the log holds no vertices and ``face_model`` is given, each result's vertices are
        rebuilt from its pose and coefficients (:class:`~app.recording.mesh_rebuild.MeshRebuilder`:
        with the recorded decoder, as the pipeline made them; face region, camera frame).
        """
        if self.log is None:
            return
        rebuild = None
        if face_model is not None and self.log.header.num_vertices == 0:
            rebuild = MeshRebuilder(self.log.header.decoder, face_model, where=str(self.paths.base))
        for result in self.log.iter_results():
            needed = (result.rotation, result.translation, result.identity, result.expression)
            if rebuild is not None and result.vertices is None and all(value is not None for value in needed):
                result = dataclasses.replace(result, vertices=rebuild.vertices(result))
            yield result

    def results(self, face_model: FaceModel | None = None) -> list[FaceResult]:
        """:meth:`iter_results` as a list."""
        return list(self.iter_results(face_model))

    def iter_frame_results(self, face_model: FaceModel | None = None) -> Iterator[FaceResult]:
        """:meth:`iter_results` plus a not-found result for every raw frame the pipeline never
        processed before the first result or after the last one (a take's display pipeline
        skips frames when it falls behind); gaps between results are left to the exporters'
        frame alignment. One result per raw frame of the take, from its first to its last.
        """
        raw = self.capture_indices
        position = 0  # next raw frame not yet covered
        last: FaceResult | None = None
        for result in self.iter_results(face_model):
            if last is None:
                while position < len(raw) and raw[position] < result.index:
                    yield self._unprocessed(position, result)
                    position += 1
            while position < len(raw) and raw[position] <= result.index:
                position += 1
            last = result
            yield result
        if last is not None:
            for trailing in range(position, len(raw)):
                yield self._unprocessed(trailing, last)

    def _unprocessed(self, position: int, neighbour: FaceResult) -> FaceResult:
        """A not-found result for raw frame ``position``, with ``neighbour``'s camera."""
        return FaceResult(index=int(self.capture_indices[position]), timestamp=float(self.timestamps[position]),
                          intrinsics=neighbour.intrinsics, found=False, mode=neighbour.mode)

    def export(self, path: str | os.PathLike, *, face_model: FaceModel, space: Space = "gl",
               progress: ProgressCallback | None = None, cancel: CancelFlag = None,
               bake_pose: bool = False) -> Path:
        """Export the recorded results (format from ``path``, see :func:`app.export.exporter_for`).

        Every raw frame of the take becomes one exported frame (frames without a result are
        written as not found, holding the last face), so exports line up with the ``.r3d``.
        """
        if self.num_results == 0:
            raise RecordingError(f"take {self.paths.base} has no results to export; process it again first")
        total = max(self.num_results, self.num_frames)
        return exporter_for(path, bake_pose=bake_pose).export(
            self.iter_frame_results(face_model), fps=self.fps, face_model=face_model, space=space,
            progress=progress, cancel=cancel, total=total)
