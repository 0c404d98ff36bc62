"""The main window: composes the toolbars, viewport, previews, plots, timeline and status bar,
and connects them to the session worker and the take controller. It holds no domain logic:
every request goes to :class:`~ui.worker.SessionWorker` (pipeline and source) or
:class:`~ui.recording.TakeController` (record, export, snapshot)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PyQt6.QtCore import QSettings, QStandardPaths, Qt, QTimer
from PyQt6.QtGui import QCloseEvent
from PyQt6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QVBoxLayout,
    QWidget,
)

from capture.base import FrameSource
from capture.registry import open_source
from models.errors import FaceFromXError
from models.face_model import FaceModel, load_face_model
from models.mode import Mode
from ui.export_dialog import ExportDialog
from ui.packet import DisplayPacket, PacketBuilder
from ui.playback import SourceInfo
from ui.plots import LivePlots
from ui.previews import DepthPreview, RgbPreview, depth_lookup_table
from ui.rates import RateMeter
from ui.recording import TakeController
from ui.settings import SettingsStore
from ui.source_picker import is_device, source_label
from ui.status import StatusPanel
from ui.stream_control import StreamControl
from ui.timeline import Timeline
from ui.toolbar import MODE_LABELS, CaptureToolBar, ViewToolBar
from ui.viewport import FaceViewport
from ui.worker import Controls, PipelineFactory, SessionWorker

log = logging.getLogger(__name__)

# The viewport draws every packet; the other panels follow at these rates (seconds). They are
# refreshed from the packet handler so that their repaints join the viewport's (one window
# composition per frame: costly with software OpenGL); a timer catches up when frames stop.
PANEL_INTERVALS_S = {"preview": 1 / 15, "status": 0.25, "plots": 0.25}
IDLE_REFRESH_MS = 250


def default_takes_folder() -> Path:
    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(documents or Path.home()) / "FaceFromX takes"


class MainWindow(QMainWindow):
    """The FaceFromX window.

    Args:
        pipeline_factory: ``PipelineConfig -> pipeline`` (:class:`app.pipeline.Pipeline`).
        settings: where choices and layout persist.
        source: the source to open first (else the remembered one, else ``synthetic``).
        mode: the input mode to start with (else the remembered one, else the source's richest).
        face_model: the face model (loaded from its cache when omitted).
    """

    def __init__(self, pipeline_factory: PipelineFactory, *, settings: QSettings, source: str | None = None,
                 mode: Mode | None = None, face_model: FaceModel | None = None,
                 streams: tuple[str, ...] = (), stream_subject: str | None = None):
        super().__init__()
        self.setWindowTitle("FaceFromX")
        self.store = SettingsStore(settings)
        self.state = self.store.load()
        if source:
            self.state.source = source
        if mode is not None:
            self.state.mode = mode.value
        if streams:  # --stream: these targets, streaming from the start
            self.state.stream_targets = ", ".join(streams)
        if stream_subject is not None:
            self.state.stream_subject = stream_subject
        self._stream_at_start = bool(streams)
        self.face_model = face_model or load_face_model()
        self.spec = self.state.source
        self.source_info: SourceInfo | None = None
        self.mode: Mode | None = Mode.parse(self.state.mode) if self.state.mode else None
        self.display_rate = RateMeter(2.0)
        self.latency_ms: float | None = None
        self.last_error: str | None = None
        self._t0 = time.perf_counter()
        self._closed = False
        self._error_box: QMessageBox | None = None
        self._progress: QProgressDialog | None = None

        builder = PacketBuilder(self.face_model, depth_lookup_table())
        builder.point_cloud = self.state.point_cloud
        controls = Controls(mode=self.mode, refine=self.state.refine, smoothing=self.state.smoothing)
        self.worker = SessionWorker(pipeline_factory, builder, controls, parent=self)
        self.takes = TakeController(self.worker, self.face_model, parent=self)
        self._build_widgets()
        self._connect()
        self.capture_bar.set_toggles(self.state.refine, self.state.smoothing)
        self.view_bar.set_state(self.state.wireframe, self.state.point_cloud, self.state.stabilized)
        self.capture_bar.set_modes(frozenset(), self.mode)
        self.resize(1480, 900)
        self.store.restore_window(self)
        self._update_actions()

    # -- construction -----------------------------------------------------------------------------

    def _build_widgets(self) -> None:
        self.capture_bar = CaptureToolBar(self)
        self.view_bar = ViewToolBar(self)
        self.addToolBar(self.capture_bar)
        self.addToolBar(self.view_bar)
        self.stream = StreamControl(self.worker, self.face_model.arkit_matrix, targets=self.state.stream_targets,
                                    subject=self.state.stream_subject, parent=self.capture_bar)
        self.capture_bar.add_stream_control(self.stream)
        self.viewport = FaceViewport(on_drawn=self._on_drawn)
        self.timeline = Timeline()
        self.timeline.hide()
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.viewport.widget, 1)
        layout.addWidget(self.timeline)
        self.setCentralWidget(central)
        self.rgb_preview = RgbPreview()
        self.depth_preview = DepthPreview()
        self.plots = LivePlots(self.worker.builder.curves)
        self.docks = {}
        right, bottom = Qt.DockWidgetArea.RightDockWidgetArea, Qt.DockWidgetArea.BottomDockWidgetArea
        self.setCorner(Qt.Corner.BottomRightCorner, right)
        for name, title, widget, area in (("colour", "Colour", self.rgb_preview, right),
                                          ("depth", "Depth", self.depth_preview, right),
                                          ("plots", "Plots", self.plots, bottom)):
            dock = QDockWidget(title, self)
            dock.setObjectName(f"dock_{name}")
            dock.setWidget(widget)
            dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                             | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
            self.addDockWidget(area, dock)
            self.docks[name] = dock
        self.resizeDocks([self.docks["colour"]], [440], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["plots"]], [220], Qt.Orientation.Vertical)
        self.status = StatusPanel(self.statusBar())
        self.idle_timer = QTimer(self)
        self.idle_timer.setInterval(IDLE_REFRESH_MS)
        self._preview_packet: DisplayPacket | None = None
        self._panels_due = dict.fromkeys(PANEL_INTERVALS_S, 0.0)
        self._last_packet_at = 0.0

    def _connect(self) -> None:
        worker, bar, view = self.worker, self.capture_bar, self.view_bar
        worker.packetReady.connect(self._on_packet, Qt.ConnectionType.QueuedConnection)
        worker.sourceOpened.connect(self._on_source_opened, Qt.ConnectionType.QueuedConnection)
        worker.modeChanged.connect(self._on_mode_changed, Qt.ConnectionType.QueuedConnection)
        worker.failed.connect(self.show_error, Qt.ConnectionType.QueuedConnection)
        worker.sourceEnded.connect(self._on_source_ended, Qt.ConnectionType.QueuedConnection)
        bar.sourceRequested.connect(self.open_source)
        bar.modeRequested.connect(self.set_mode)
        bar.refineToggled.connect(self._on_refine)
        bar.smoothingToggled.connect(self._on_smoothing)
        bar.recordToggled.connect(self.set_recording)
        bar.exportRequested.connect(self._ask_export)
        bar.snapshotRequested.connect(self._ask_snapshot)
        view.wireframeToggled.connect(self._on_wireframe)
        view.pointCloudToggled.connect(self._on_point_cloud)
        view.stabilizedToggled.connect(self._on_stabilized)
        view.resetViewRequested.connect(self.viewport.reset_camera)
        self.timeline.playToggled.connect(self._on_play)
        self.timeline.seekRequested.connect(self._on_seek)
        self.takes.recordingChanged.connect(self._update_actions)
        self.takes.takeClosed.connect(self._on_take_closed)
        self.takes.exportProgress.connect(self._on_export_progress)
        self.takes.exportFinished.connect(self._on_export_finished)
        self.takes.failed.connect(self._on_take_failed)
        self.idle_timer.timeout.connect(lambda: self._refresh_panels(idle=True))
        self.stream.failed.connect(self.show_error)
        self.stream.toggled.connect(self._on_stream)

    def start(self, source: FrameSource | None = None) -> None:
        """Open the first source (``source`` if given, named :attr:`spec`) and start the timers.

        Call after :meth:`show`. A remembered source that no longer opens falls back to synthetic.
        """
        self.idle_timer.start()
        if self._stream_at_start:
            self.stream.set_on(True)
        if not self.open_source(self.spec, source) and self.spec != "synthetic":
            self.open_source("synthetic")

    # -- sources and modes ------------------------------------------------------------------------

    def open_source(self, spec: str, source: FrameSource | None = None) -> bool:
        """Switch to the source ``spec``; a source that cannot be opened is reported, the old one kept."""
        try:
            source = source or open_source(spec)
        except FaceFromXError as exc:
            self.show_error(str(exc))
            self.capture_bar.picker.set_current(self.spec)
            return False
        if self.takes.recording:
            self.takes.stop_recording()
        self.spec = spec
        self.state.source = spec
        self.source_info = None
        self.capture_bar.picker.set_current(spec)
        self.capture_bar.set_modes(frozenset(), self.mode)
        self.timeline.hide()
        self.plots.reset()
        self.viewport.recentre()
        self.worker.start(source, pace=not is_device(spec))
        self._update_actions()
        return True

    def set_mode(self, mode: Mode) -> None:
        """Switch the input mode live (ignored when the source cannot serve it)."""
        if self.source_info is not None and mode not in self.source_info.modes:
            self.statusBar().showMessage(f"{self.source_info.name} cannot serve {MODE_LABELS[mode]}", 4000)
            self.capture_bar.set_modes(self.source_info.modes, self.mode)
            return
        self.worker.set_mode(mode)
        self._on_mode_changed(mode)

    def _on_mode_changed(self, mode: Mode) -> None:
        self.mode = mode
        self.state.mode = mode.value
        self.capture_bar.set_modes(self.source_info.modes if self.source_info else frozenset(Mode), mode)

    def _on_source_opened(self, info: SourceInfo) -> None:
        self.source_info = info
        self.stream.set_fps(info.fps)
        self.capture_bar.set_modes(info.modes, self.worker.controls.mode)
        if info.seekable:
            self.timeline.set_source(info.num_frames, info.fps)
            self.timeline.set_playing(True)
            self.timeline.show()
        self._update_actions()

    def _on_source_ended(self) -> None:
        self.statusBar().showMessage(f"{source_label(self.spec)}: end of recording", 5000)

    def _on_play(self, playing: bool) -> None:
        if self.worker.source is not None:
            (self.worker.source.play if playing else self.worker.source.pause)()

    def _on_seek(self, index: int) -> None:
        if self.worker.source is not None:
            self.worker.source.seek(index)

    def _on_refine(self, on: bool) -> None:
        self.state.refine = on
        self.worker.set_refine(on)

    def _on_stream(self, _on: bool = False) -> None:
        self.state.stream_targets, self.state.stream_subject = self.stream.targets_text, self.stream.subject
        if not self._closed:
            self._update_status()

    def _on_smoothing(self, on: bool) -> None:
        self.state.smoothing = on
        self.worker.set_smoothing(on)

    # -- view -------------------------------------------------------------------------------------

    def _on_wireframe(self, on: bool) -> None:
        self.state.wireframe = on
        self.viewport.set_wireframe(on)

    def _on_point_cloud(self, on: bool) -> None:
        self.state.point_cloud = on
        self.worker.builder.point_cloud = on
        self.viewport.set_point_cloud(on)

    def _on_stabilized(self, on: bool) -> None:
        self.state.stabilized = on
        self.viewport.set_stabilized(on)

    # -- frames -----------------------------------------------------------------------------------

    def _on_packet(self) -> None:
        packet = self.worker.take_packet()
        if packet is None or self._closed:
            return
        self.viewport.show_packet(packet)
        self._preview_packet = packet
        self._last_packet_at = time.perf_counter()
        self._refresh_panels()
        if self.timeline.isVisible():
            self.timeline.set_position(packet.index)
            source = self.worker.source
            if source is not None and source.playing != self.timeline.playing:
                self.timeline.set_playing(source.playing)

    def _refresh_panels(self, idle: bool = False) -> None:
        """Update the previews, status bar and plots that are due (all of them when idle)."""
        now = time.perf_counter()
        if self._closed or (idle and now - self._last_packet_at < IDLE_REFRESH_MS / 1000):
            return  # frames are coming: the packet handler refreshes the panels
        due = [name for name, at in self._panels_due.items() if idle or now >= at]
        for name in due:
            self._panels_due[name] = now + PANEL_INTERVALS_S[name]
        if "preview" in due and self._preview_packet is not None:
            packet, self._preview_packet = self._preview_packet, None
            self.rgb_preview.show_packet(packet)
            self.depth_preview.show_packet(packet)
        if "status" in due:
            self._update_status()
        if "plots" in due:
            self.plots.refresh()

    def _on_drawn(self, packet: DisplayPacket) -> None:
        now = time.perf_counter()
        self.display_rate.tick(now)
        self.latency_ms = (now - packet.captured_at) * 1000.0
        t = now - self._t0
        values = {"displayed fps": self.display_rate.rate(now), "end-to-end ms": self.latency_ms,
                  "pipeline ms": packet.pipeline_ms}
        values.update(packet.curves)
        self.plots.add(t, values)

    def _update_status(self) -> None:
        now = time.perf_counter()
        stats = self.worker.stats
        if self.takes.recording:
            minutes, seconds = divmod(int(self.takes.elapsed_s), 60)
            recording = f"● REC {minutes:02d}:{seconds:02d} · {self.takes.frames} frames"
            self.capture_bar.set_recording(True, self.takes.elapsed_s, self.takes.frames)
        else:
            recording = "not recording"
        rate = self.display_rate.rate(now)
        self.status.update(source=source_label(self.spec), mode=MODE_LABELS.get(self.mode, "–"), fps=rate,
                           latency_ms=self.latency_ms if rate > 0 else None,
                           dropped=stats.dropped, recording=recording, fit_error_mm=self.worker.fit_error_mm,
                           stream=self.stream.status_text(now))

    # -- record, export, snapshot -----------------------------------------------------------------

    @property
    def takes_folder(self) -> Path:
        value = self.store.settings.value("recording/folder", "", type=str)
        return Path(value) if value else default_takes_folder()

    def set_recording(self, on: bool) -> None:
        if on == self.takes.recording:
            return
        if not on:
            self.takes.stop_recording()
            return
        try:
            fps = self.source_info.fps if self.source_info else 30.0
            base = self.takes.start_recording(self.takes_folder, fps)
        except FaceFromXError as exc:
            self.show_error(str(exc))
            self._update_actions()
            return
        self.statusBar().showMessage(f"recording {base}", 4000)

    def _on_take_closed(self, base: str) -> None:
        self.statusBar().showMessage(f"take saved: {base}.r3d", 6000)
        self._update_actions()

    def _update_actions(self) -> None:
        recording = self.takes.recording
        self.capture_bar.set_recording(recording, self.takes.elapsed_s, self.takes.frames)
        self.capture_bar.export_action.setEnabled(not recording and self.takes.last_take is not None
                                                  and not self.takes.exporting)

    def _ask_export(self) -> None:
        if self.takes.last_take is None:
            self.show_error("nothing to export yet: record a take first")
            return
        dialog = ExportDialog(self.takes.last_take.name, self.takes.last_take.parent, self)
        if dialog.exec() == ExportDialog.DialogCode.Accepted and dialog.destination():
            self.export_take(dialog.destination(), dialog.space())

    def export_take(self, destination: str, space: str = "gl") -> None:
        """Export the last take to ``destination`` with a progress dialog that can cancel."""
        try:
            self.takes.export(destination, space)
        except FaceFromXError as exc:
            self.show_error(str(exc))
            return
        # Not modal: a modal QProgressDialog runs a nested event loop in setValue.
        self._progress = QProgressDialog(f"Exporting to {destination}…", "Cancel", 0, 0, self)
        self._progress.setWindowTitle("Export")
        self._progress.setWindowModality(Qt.WindowModality.NonModal)
        self._progress.setMinimumDuration(300)
        self._progress.canceled.connect(self.takes.cancel_export)
        self._update_actions()

    def _on_export_progress(self, done: int, total: int) -> None:
        if self._progress is not None:
            if total and self._progress.maximum() != total:
                self._progress.setMaximum(total)
            self._progress.setValue(done)

    def _finish_progress(self) -> None:
        if self._progress is not None:
            self._progress.canceled.disconnect(self.takes.cancel_export)
            self._progress.reset()
            self._progress.deleteLater()
            self._progress = None
        self._update_actions()

    def _on_export_finished(self, path: str) -> None:
        self._finish_progress()
        self.statusBar().showMessage(f"exported {path}", 8000)

    def _on_take_failed(self, message: str) -> None:
        self._finish_progress()
        self.show_error(message)

    def _ask_snapshot(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the mesh", str(self.takes_folder / "face.obj"),
                                              "OBJ mesh (*.obj)")
        if path:
            self.save_snapshot(path)

    def save_snapshot(self, path: str) -> Path | None:
        """Save the mesh on screen as an OBJ file (y up); errors are shown, None returned."""
        try:
            written = self.takes.snapshot(self.worker.last_result, path)
        except FaceFromXError as exc:
            self.show_error(str(exc))
            return None
        self.statusBar().showMessage(f"mesh saved: {written}", 6000)
        return written

    # -- errors and closing -----------------------------------------------------------------------

    def show_error(self, message: str) -> None:
        """Show a one-line error without blocking; the window carries on."""
        log.warning("%s", message)
        self.last_error = message
        self.statusBar().showMessage(message, 10000)
        if self._closed:
            return
        if self._error_box is None:
            self._error_box = QMessageBox(QMessageBox.Icon.Warning, "FaceFromX", message,
                                          QMessageBox.StandardButton.Ok, self)
            self._error_box.setModal(False)
        self._error_box.setText(message)
        self._error_box.show()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closed:
            self._closed = True
            self.idle_timer.stop()
            self._on_stream()
            self.store.save(self.state)
            self.store.save_window(self)
            self.takes.shutdown()
            self.worker.stop()
            self.stream.shutdown()
            self.viewport.close()
            if self._error_box is not None:
                self._error_box.close()
        super().closeEvent(event)
