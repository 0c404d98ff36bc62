"""What every exporter shares: sessions that write frame by frame, progress and cancellation.

>>> exporter = exporter_for("take.abc")
>>> exporter.export(results, fps=30.0, face_model=model, space="gl", progress=bar, cancel=event)

An :class:`ExportSession` is the streaming form (a live sink calls :meth:`ExportSession.write`
per result and :meth:`ExportSession.commit` at the end); :meth:`Exporter.export` drives one
over a sequence with a progress callback and a cancel flag. Any error or a cancellation aborts
the session: its temporary output is deleted and nothing appears under the final name.
"""

from __future__ import annotations

import abc
import logging
import math
import os
import threading
from collections.abc import Callable, Iterable, Sized
from pathlib import Path
from types import TracebackType

from app.export.errors import ExportCancelled, ExportError
from app.export.frames import ExportFrame, FrameAligner
from app.export.recover import recover_stale_partials
from app.export.space import Space, check_space
from app.export.target import export_error
from models.face_model import FaceModel
from models.face_result import FaceResult

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int | None], None]
"""Called as ``progress(done, total)`` after each result; ``total`` is None when unknown."""

CancelFlag = threading.Event | Callable[[], bool] | None
"""A ``threading.Event`` or a callable returning True to cancel, or None."""


def is_cancelled(cancel: CancelFlag) -> bool:
    """True when ``cancel`` (an Event, or a callable returning bool) asks to stop."""
    if cancel is None:
        return False
    is_set = getattr(cancel, "is_set", None)
    return bool(is_set() if is_set is not None else cancel())


class ExportSession(abc.ABC):
    """One export being written. Use as a context manager, or call commit / abort.

    Args:
        path: the final file or folder.
        fps: the take's frame rate (frames per second, > 0).
        face_model: the model whose face region, UVs and expression names are exported.
        space: ``gl`` or ``opencv`` (:mod:`app.export.space`).
    """

    format_name = "export"

    def __init__(self, path: str | os.PathLike, *, fps: float, face_model: FaceModel, space: Space = "gl"):
        if not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
            raise ExportError(f"cannot export {path}: the frame rate must be positive, got {fps!r}")
        self.path = Path(path)
        recover_stale_partials(self.path.parent if str(self.path.parent) else ".")  # left by a killed run
        self.fps = float(fps)
        self.face_model = face_model
        self.space = check_space(space)
        self.frames_written = 0  # export frames handed to the format (source frames, gaps filled)
        self._aligner = FrameAligner(self.fps)
        self._state = "open"

    # -- what a format implements --------------------------------------------------------------

    @abc.abstractmethod
    def _write_frame(self, frame: ExportFrame) -> None:
        """Write one aligned frame (OSError is turned into ExportError by the caller)."""

    @abc.abstractmethod
    def _finish(self) -> None:
        """Complete the output and move it under the final name."""

    @abc.abstractmethod
    def _discard(self) -> None:
        """Delete every temporary file; must not raise."""

    # -- driving -------------------------------------------------------------------------------

    def _guarded(self, action: Callable[[], None]) -> None:
        if self._state != "open":
            raise ExportError(f"cannot write {self.path}: the export is already {self._state}")
        try:
            action()
        except OSError as exc:
            self.abort()
            raise export_error(self.path, exc) from None
        except BaseException:
            self.abort()
            raise

    def write(self, result: FaceResult) -> None:
        """Add the next result (source order; missing frame numbers are filled in)."""
        def action() -> None:
            for frame in self._aligner.push(result):
                self._write_frame(frame)
                self.frames_written += 1
        self._guarded(action)

    def commit(self) -> Path:
        """Finish the export and rename it into place; returns the final path."""
        self._guarded(self._finish)
        self._state = "committed"
        log.info("exported %d frames to %s", self.frames_written, self.path)
        return self.path

    def abort(self) -> None:
        """Drop the export: temporary files are removed, the final name is left untouched."""
        if self._state == "open":
            self._state = "aborted"
            self._discard()

    def __enter__(self) -> ExportSession:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None and self._state == "open":
            self.commit()
        else:
            self.abort()


class Exporter(abc.ABC):
    """A destination in one format; :meth:`export` writes a whole sequence of results."""

    format_name = "export"

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    @abc.abstractmethod
    def open(self, *, fps: float, face_model: FaceModel, space: Space = "gl") -> ExportSession:
        """Start a streaming export (see :class:`ExportSession`)."""

    def export(self, results: Iterable[FaceResult], *, fps: float, face_model: FaceModel,
               space: Space = "gl", progress: ProgressCallback | None = None,
               cancel: CancelFlag = None,
               total: int | None = None) -> Path:
        """Write ``results`` (source order) and return the final path.

        Args:
            results: FaceResults in source order (a sequence, or any iterable).
            fps: the take's frame rate.
            face_model: the model the results were fitted with.
            space: ``gl`` (x right, y up, z toward the viewer) or ``opencv``.
            progress: called as ``progress(done, total)`` after each result.
            cancel: a ``threading.Event`` (or a callable returning bool); when set, the export
                stops, its temporary output is removed and :class:`ExportCancelled` is raised.
            total: the number of results when ``results`` has no ``len``.

        Raises:
            ExportError: one line naming the problem (nothing is left under the final name).
            ExportCancelled: when cancelled.
        """
        if total is None and isinstance(results, Sized):
            total = len(results)
        session = self.open(fps=fps, face_model=face_model, space=space)
        done = 0
        try:
            for result in results:
                if is_cancelled(cancel):
                    raise ExportCancelled(f"export to {self.path} cancelled")
                session.write(result)
                done += 1
                if progress is not None:
                    progress(done, total)
            if is_cancelled(cancel):
                raise ExportCancelled(f"export to {self.path} cancelled")
            if done == 0:
                raise ExportError(f"cannot export {self.path}: there are no frames to export")
            return session.commit()
        except BaseException:
            session.abort()
            raise
