"""Record, export and snapshot for the window: the toolbar's actions adapted to
:class:`app.recording.Recorder`, :class:`app.recording.Take` and :mod:`app.export`.

Recording taps the running session (every frame, every result) and never blocks it. Closing a
take and exporting one run on their own threads (``facefromx-take-close``,
``facefromx-export``); progress and the outcome come back as signals on the GUI thread.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from PyQt6.QtCore import QObject, pyqtSignal

from app.export import ExportCancelled, exporter_for
from app.recording import Recorder, RecordingError, Take
from models.errors import FaceFromXError
from models.face_model import FaceModel
from models.face_result import FaceResult
from models.frame import Frame
from ui.worker import SessionWorker

log = logging.getLogger(__name__)

# What the export dialog offers: label -> file suffix ("" is an OBJ sequence folder).
EXPORT_FORMATS: dict[str, str] = {
    "Alembic (.abc)": ".abc",
    "OBJ sequence (folder)": "",
    "Live Link Face CSV (.csv)": ".csv",
    "JSON Lines (.jsonl)": ".jsonl",
}


class TakeController(QObject):
    """One recording at a time, the last take, and one export at a time.

    Signals: recordingChanged(bool), takeClosed(str) (the take's base path), exportProgress(int, int)
    (done, total), exportFinished(str) (the written path), failed(str) (one line).
    """

    recordingChanged = pyqtSignal(bool)
    takeClosed = pyqtSignal(str)
    exportProgress = pyqtSignal(int, int)
    exportFinished = pyqtSignal(str)
    failed = pyqtSignal(str)

    def __init__(self, worker: SessionWorker, face_model: FaceModel, parent: QObject | None = None):
        super().__init__(parent)
        self.worker = worker
        self.face_model = face_model
        self.recorder: Recorder | None = None
        self.last_take: Path | None = None
        self._started_at = 0.0
        self._threads: list[threading.Thread] = []
        self._cancel = threading.Event()

    # -- recording --------------------------------------------------------------------------------

    @property
    def recording(self) -> bool:
        return self.recorder is not None

    @property
    def elapsed_s(self) -> float:
        return time.perf_counter() - self._started_at if self.recorder is not None else 0.0

    @property
    def frames(self) -> int:
        return self.recorder.stats.frames_captured if self.recorder is not None else 0

    def start_recording(self, folder: Path, fps: float) -> Path:
        """Start a new take in ``folder`` (created if missing); returns its base path."""
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RecordingError(f"cannot record into {folder}: {exc.strerror or exc}") from None
        recorder = Recorder.new_in(folder, fps=fps, face_model=self.face_model)
        self.recorder = recorder
        self._started_at = time.perf_counter()
        self.worker.frame_taps.append(self._add_frame)
        self.worker.result_sinks.append(self._add_result)
        self.recordingChanged.emit(True)
        return recorder.paths.base

    def _add_frame(self, frame) -> None:  # source thread
        recorder = self.recorder
        if recorder is not None:
            try:
                recorder.add_frame(frame)
            except RecordingError:
                if self.recorder is recorder:
                    raise  # not the stop race: a real failure

    def _add_result(self, frame: Frame, result: FaceResult) -> None:  # pipeline thread
        recorder = self.recorder
        if recorder is not None:
            try:
                recorder.add_result(result)
            except RecordingError:
                if self.recorder is recorder:
                    raise

    def stop_recording(self, wait: bool = False) -> None:
        """Detach the recorder and close the take (on a thread unless ``wait``)."""
        recorder, self.recorder = self.recorder, None
        if recorder is None:
            return
        for taps, item in ((self.worker.frame_taps, self._add_frame), (self.worker.result_sinks, self._add_result)):
            if item in taps:
                taps.remove(item)
        self.last_take = recorder.paths.base
        self.recordingChanged.emit(False)

        def close() -> None:
            summary = recorder.close()
            if summary.error:
                self.failed.emit(summary.error)
            self.takeClosed.emit(str(recorder.paths.base))

        if wait:
            close()
        else:
            self._spawn("facefromx-take-close", close)

    # -- export -----------------------------------------------------------------------------------

    @property
    def exporting(self) -> bool:
        return any(t.name == "facefromx-export" and t.is_alive() for t in self._threads)

    def export(self, destination: str, space: str = "gl") -> None:
        """Export the last take to ``destination`` (format from the path) on a thread."""
        take_path = self.last_take
        if take_path is None:
            raise RecordingError("nothing to export yet: record a take first")
        if self.exporting:
            raise RecordingError("an export is already running")
        self._wait_for("facefromx-take-close")
        self._cancel.clear()

        def run() -> None:
            try:
                take = Take.open(take_path)
                path = take.export(destination, face_model=self.face_model, space=space,
                                   progress=lambda done, total: self.exportProgress.emit(done, total or 0),
                                   cancel=self._cancel)
            except ExportCancelled:
                self.failed.emit(f"export to {destination} cancelled")
                return
            except FaceFromXError as exc:
                self.failed.emit(str(exc))
                return
            self.exportFinished.emit(str(path))

        self._spawn("facefromx-export", run)

    def cancel_export(self) -> None:
        self._cancel.set()

    # -- snapshot ---------------------------------------------------------------------------------

    def snapshot(self, result: FaceResult, path: str | os.PathLike, space: str = "gl") -> Path:
        """Write ``result``'s mesh as one OBJ file (the OBJ exporter's layout and space)."""
        path = Path(path)
        if result is None or not result.has_face:
            raise RecordingError("no face to save yet")
        if not result.found:  # the mesh on screen is the last face found: save that one
            result = dataclasses.replace(result, found=True)
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir():
            raise RecordingError(f"cannot write {path}: folder {folder} does not exist")
        scratch = Path(tempfile.mkdtemp(prefix=".snapshot-", dir=folder))
        try:
            written = exporter_for(scratch / "mesh").export(
                [result], fps=1.0, face_model=self.face_model, space=space)
            files = sorted(written.glob("*.obj"))
            if not files:
                raise RecordingError(f"cannot write {path}: the mesh was not exported")
            os.replace(files[0], path)
        except OSError as exc:
            raise RecordingError(f"cannot write {path}: {exc.strerror or exc}") from None
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return path

    # -- threads ----------------------------------------------------------------------------------

    def _spawn(self, name: str, target) -> None:
        self._threads = [t for t in self._threads if t.is_alive()]
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _wait_for(self, name: str) -> None:
        for thread in list(self._threads):
            if thread.name == name:
                thread.join()

    def shutdown(self, timeout: float = 30.0) -> None:
        """Close a running take, cancel an export, and wait for both threads."""
        self.stop_recording(wait=True)
        self.cancel_export()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = [t for t in self._threads if t.is_alive()]
        if self._threads:
            log.warning("%d take threads did not stop", len(self._threads))
