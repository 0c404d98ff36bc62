"""The thin worker: a running :class:`app.session.Session` adapted to Qt signals.

The session's threads (``facefromx-source``, ``facefromx-pipeline``) do the work. Each result
goes, with its frame, into a newest-wins slot; a third thread (``facefromx-display``) turns the
newest one into a :class:`~ui.packet.DisplayPacket` (normals, colour-mapped depth, ...), off
the pipeline's critical path, and signals :attr:`SessionWorker.packetReady` (delivered queued
on the GUI thread; at most one notification is pending). The GUI takes the newest packet, so
a GUI that falls behind skips frames (counted in :attr:`SessionWorker.display_skipped`)
instead of queueing them. Pipeline controls set from the GUI (mode, refinement, smoothing)
are applied on the pipeline thread before the next frame.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

import numpy as np
from PyQt6.QtCore import QObject, pyqtSignal

from app.config import PipelineConfig
from app.frame_slot import LatestSlot, SlotClosed
from app.metrics_worker import LiveFitError
from app.session import FrameTap, ResultSink, Session, SessionStats
from capture.base import FrameSource
from models.errors import FaceFromXError
from models.face_result import FaceResult
from models.frame import Frame
from models.mode import Mode
from ui.packet import DisplayPacket, PacketBuilder
from ui.playback import ControlledSource, SourceInfo

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 5.0
# The status bar's fit error: measured at most this often on its own thread (the cores stay
# with the pipeline), averaged over the newest FIT_ERROR_KEEP figures.
FIT_ERROR_INTERVAL_S = 0.25
FIT_ERROR_KEEP = 8


class PipelineLike(Protocol):
    """What the window needs of :class:`app.pipeline.Pipeline`."""

    def process(self, frame: Frame) -> FaceResult: ...

    def set_mode(self, mode: Mode) -> None: ...

    def apply(self, config: PipelineConfig) -> None: ...

    def reset(self) -> None: ...


PipelineFactory = Callable[[PipelineConfig], PipelineLike]


@dataclasses.dataclass(frozen=True)
class Controls:
    """The pipeline settings the window controls (mode None: the source's richest)."""

    mode: Mode | None = None
    refine: bool = True
    smoothing: bool = True

    def config(self) -> PipelineConfig:
        base = PipelineConfig()
        return dataclasses.replace(base, mode=self.mode, refine=self.refine,
                                   smoothing=dataclasses.replace(base.smoothing, enabled=self.smoothing))


class SessionWorker(QObject):
    """Runs one source at a time through one pipeline (created on first use, then kept).

    Signals (all delivered on the GUI thread):
        packetReady: a new :class:`DisplayPacket` waits in :meth:`take_packet`.
        sourceOpened(SourceInfo): the source is open (modes, frame rate, length).
        modeChanged(Mode): the mode in effect changed (asked for, or the source's default).
        failed(str): one line (a CaptureError, ModelError, ...); the session has ended.
        sourceEnded: an in-order recording ran out of frames.
    """

    packetReady = pyqtSignal()
    sourceOpened = pyqtSignal(object)
    modeChanged = pyqtSignal(object)
    failed = pyqtSignal(str)
    sourceEnded = pyqtSignal()

    def __init__(self, pipeline_factory: PipelineFactory, builder: PacketBuilder,
                 controls: Controls = Controls(), parent: QObject | None = None):
        super().__init__(parent)
        self.pipeline_factory = pipeline_factory
        self.builder = builder
        self.pipeline: PipelineLike | None = None
        self.source: ControlledSource | None = None
        self.session: Session | None = None
        # Extra taps and sinks (the recorder); they may be changed while a session runs.
        self.frame_taps: list[FrameTap] = []
        self.result_sinks: list[ResultSink] = []
        self._lock = threading.Lock()
        self._controls = controls
        self._applied: Controls | None = None
        self._reset_pipeline = False
        self._latest: DisplayPacket | None = None
        self._slot: LatestSlot | None = None
        self._notified = False  # a packetReady notification is pending
        self._replaced = 0  # packets built but replaced before the GUI took them
        self._display_thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._skipped_before = 0
        self._captured_at: OrderedDict[int, float] = OrderedDict()  # frame index -> capture time
        self.last_result: FaceResult | None = None
        self.metrics: LiveFitError | None = None  # the status bar's fit error, per session

    # -- GUI thread -----------------------------------------------------------------------------

    @property
    def controls(self) -> Controls:
        return self._controls

    def set_mode(self, mode: Mode) -> None:
        self._update(mode=mode)

    def set_refine(self, on: bool) -> None:
        self._update(refine=on)

    def set_smoothing(self, on: bool) -> None:
        self._update(smoothing=on)

    def _update(self, **changes: object) -> None:
        with self._lock:
            self._controls = dataclasses.replace(self._controls, **changes)

    def start(self, source: FrameSource, *, pace: bool) -> None:
        """Stop the running session (if any) and start reading ``source`` (unopened)."""
        self.stop()
        self.source = ControlledSource(source, pace=pace, on_open=self._on_open, on_end=self.sourceEnded.emit)
        session = Session(self.source, self._process, drop_stale=True, pace=False)
        session.frame_taps.append(self._on_frame)
        session.result_sinks.append(self._on_result)
        session.on_error = self._on_error
        with self._lock:
            self._reset_pipeline = True
            self._latest, self._notified = None, False
            self._captured_at.clear()
        self._slot = LatestSlot(drop_stale=True)
        self._stopping = threading.Event()
        self._display_thread = threading.Thread(target=self._prepare_packets, args=(self._slot, self._stopping),
                                                name="facefromx-display", daemon=True)
        self._display_thread.start()
        self.session = session
        session.start()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """End the session and wait for its threads."""
        if self.session is None:
            return
        if self.source is not None:
            self.source.interrupt()
        self.session.stop()
        self.session.join(timeout)
        if self._slot is not None:
            self._skipped_before += self._slot.dropped
            self._slot.close()
        self._stopping.set()
        if self._display_thread is not None:
            self._display_thread.join(timeout)
        if self.metrics is not None:
            self.metrics.close()
            self.metrics = None
        if self.session.running or (self._display_thread is not None and self._display_thread.is_alive()):
            log.warning("the capture threads did not stop within %.0f s", timeout)
        self.session = None
        self._slot = self._display_thread = None

    @property
    def running(self) -> bool:
        return self.session is not None and self.session.running

    @property
    def stats(self) -> SessionStats:
        return self.session.stats if self.session is not None else SessionStats()

    @property
    def display_skipped(self) -> int:
        """Results never displayed because a newer one came before the GUI was ready."""
        return self._skipped_before + self._replaced + (self._slot.dropped if self._slot is not None else 0)

    @property
    def fit_error_mm(self) -> float | None:
        """The fit error (mm) over the last measured frames (about 2 s), None when the newest
        result has none (RGB mode, no face, nothing measured yet)."""
        result, metrics = self.last_result, self.metrics
        if metrics is None or result is None or not result.found or result.mode == "rgb":
            return None
        figures = list(metrics.figures)
        return float(np.mean(figures)) if figures else None

    def take_packet(self) -> DisplayPacket | None:
        """The newest packet not yet taken (None if there is none)."""
        with self._lock:
            packet, self._latest = self._latest, None
            self._notified = False
        return packet

    # -- source thread --------------------------------------------------------------------------

    def _on_open(self, info: SourceInfo) -> None:
        with self._lock:
            mode = self._controls.mode
            if mode is None or mode not in info.modes:
                mode = info.default_mode
                self._controls = dataclasses.replace(self._controls, mode=mode)
        self.sourceOpened.emit(info)
        self.modeChanged.emit(mode)

    def _on_frame(self, frame: Frame) -> None:
        with self._lock:
            self._captured_at[frame.index] = time.perf_counter()  # for the display latency
            while len(self._captured_at) > 16:
                self._captured_at.popitem(last=False)
        for tap in tuple(self.frame_taps):
            tap(frame)

    def _on_error(self, exc: Exception) -> None:
        log.error("%s", exc)
        self.failed.emit(str(exc))

    # -- pipeline thread ------------------------------------------------------------------------

    def _process(self, frame: Frame) -> FaceResult:
        with self._lock:
            controls, reset = self._controls, self._reset_pipeline
            self._reset_pipeline = False
        if self.pipeline is None:
            self.pipeline = self.pipeline_factory(controls.config())
            self._applied = controls
        pipeline = self.pipeline
        if controls != self._applied:
            pipeline.apply(controls.config())
            self._applied = controls
        if reset:
            pipeline.reset()
        try:
            result = pipeline.process(frame)
        except FaceFromXError:
            raise
        except Exception as exc:
            log.exception("the pipeline failed on frame %d", frame.index)
            raise FaceFromXError(f"the pipeline failed on frame {frame.index}: {exc}") from exc
        return result

    def _on_result(self, frame: Frame, result: FaceResult) -> None:
        for sink in tuple(self.result_sinks):
            sink(frame, result)
        self.last_result = result
        if self.metrics is None:
            self.metrics = LiveFitError(getattr(self.pipeline, "model", None), interval_s=FIT_ERROR_INTERVAL_S,
                                        keep=FIT_ERROR_KEEP)
        self.metrics.offer(frame, result)
        with self._lock:
            captured_at = self._captured_at.pop(frame.index, time.perf_counter())
        slot = self._slot
        if slot is not None:
            try:
                slot.put((frame, result, captured_at))
            except SlotClosed:
                pass

    # -- display thread -------------------------------------------------------------------------

    def _prepare_packets(self, slot: LatestSlot, stopping: threading.Event) -> None:
        while not stopping.is_set():
            try:
                item = slot.get(timeout=0.2)
            except SlotClosed:
                return
            if item is None:
                continue
            try:
                packet = self.builder.build(*item)
            except Exception:  # a display bug must not end the session; it is logged
                log.exception("could not prepare frame %d for display", item[1].index)
                continue
            with self._lock:
                if self._latest is not None:
                    self._replaced += 1
                self._latest = packet
                notify, self._notified = not self._notified, True
            if notify and not stopping.is_set():
                self.packetReady.emit()
