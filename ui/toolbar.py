"""The window's toolbars: capture controls and view controls. They only emit requests; the
main window decides what happens."""

from __future__ import annotations

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtGui import QAction, QActionGroup, QKeySequence
from PyQt6.QtWidgets import QLabel, QToolBar, QWidget

from models.mode import Mode
from ui.source_picker import SourcePicker

MODE_LABELS = {Mode.RGB: "RGB", Mode.DEPTH: "Depth", Mode.RGBD: "RGB-D"}
MODE_KEYS = {Mode.RGB: "1", Mode.DEPTH: "2", Mode.RGBD: "3"}


def _action(parent: QWidget, text: str, tip: str, *, checkable: bool = False,
            shortcuts: tuple[str, ...] = (), name: str = "") -> QAction:
    action = QAction(text, parent)
    action.setCheckable(checkable)
    if shortcuts:
        action.setShortcuts([QKeySequence(key) for key in shortcuts])
        tip = f"{tip} ({' or '.join(shortcuts)})"
    action.setToolTip(tip)
    action.setObjectName(name or text)
    return action


class CaptureToolBar(QToolBar):
    """Source, input mode, refinement, smoothing, record, export and snapshot.

    Signals: sourceRequested(str), modeRequested(Mode), refineToggled(bool),
    smoothingToggled(bool), recordToggled(bool), exportRequested(), snapshotRequested().
    """

    modeRequested = pyqtSignal(object)
    refineToggled = pyqtSignal(bool)
    smoothingToggled = pyqtSignal(bool)
    recordToggled = pyqtSignal(bool)
    exportRequested = pyqtSignal()
    snapshotRequested = pyqtSignal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Capture", parent)
        self.setObjectName("captureToolBar")
        self.picker = SourcePicker(self)
        self.sourceRequested = self.picker.sourceRequested
        self.addWidget(self.picker)
        self.addSeparator()
        self.mode_group = QActionGroup(self)
        self.mode_group.setExclusive(True)
        self.mode_actions: dict[Mode, QAction] = {}
        for mode in (Mode.RGB, Mode.DEPTH, Mode.RGBD):
            action = _action(self, MODE_LABELS[mode], f"{MODE_LABELS[mode]} input", checkable=True,
                             shortcuts=(MODE_KEYS[mode],), name=f"mode_{mode.value}")
            action.triggered.connect(lambda _checked, m=mode: self.modeRequested.emit(m))
            self.mode_group.addAction(action)
            self.addAction(action)
            self.mode_actions[mode] = action
        self.addSeparator()
        self.refine_action = _action(self, "Refine", "Depth refinement (Gauss-Newton fit to the depth map)",
                                     checkable=True, name="refine")
        self.refine_action.toggled.connect(self.refineToggled)
        self.smoothing_action = _action(self, "Smooth", "Temporal smoothing (One Euro filter)",
                                        checkable=True, name="smoothing")
        self.smoothing_action.toggled.connect(self.smoothingToggled)
        self.addAction(self.refine_action)
        self.addAction(self.smoothing_action)
        self.addSeparator()
        self.record_action = _action(self, "● Record", "Record the take", checkable=True,
                                     shortcuts=("R", "Ctrl+R"), name="record")
        self.record_action.toggled.connect(self._on_record)
        self.addAction(self.record_action)
        self.record_label = QLabel("", self)
        self.record_label.setMinimumWidth(130)
        self.addWidget(self.record_label)
        self.export_action = _action(self, "Export…", "Export the recorded take", shortcuts=("Ctrl+E",),
                                     name="export")
        self.export_action.triggered.connect(self.exportRequested)
        self.snapshot_action = _action(self, "Snapshot", "Save the current mesh as an OBJ file",
                                       shortcuts=("Ctrl+S",), name="snapshot")
        self.snapshot_action.triggered.connect(self.snapshotRequested)
        self.addAction(self.export_action)
        self.addAction(self.snapshot_action)

    def add_stream_control(self, control: QWidget) -> None:
        """Put the Stream control (:class:`ui.stream_control.StreamControl`) at the end."""
        self.addSeparator()
        self.addWidget(control)

    def set_modes(self, available: frozenset[Mode], current: Mode | None) -> None:
        """Enable the modes the source can serve and check the one in effect."""
        for mode, action in self.mode_actions.items():
            action.setEnabled(mode in available)
            action.setChecked(mode == current)

    def set_toggles(self, refine: bool, smoothing: bool) -> None:
        for action, value in ((self.refine_action, refine), (self.smoothing_action, smoothing)):
            action.blockSignals(True)
            action.setChecked(value)
            action.blockSignals(False)

    def set_recording(self, recording: bool, elapsed_s: float = 0.0, frames: int = 0) -> None:
        self.record_action.blockSignals(True)
        self.record_action.setChecked(recording)
        self.record_action.blockSignals(False)
        self.record_action.setText("■ Stop" if recording else "● Record")
        if recording:
            minutes, seconds = divmod(int(elapsed_s), 60)
            self.record_label.setText(f" REC {minutes:02d}:{seconds:02d} · {frames} frames ")
            self.record_label.setStyleSheet("color: #ff5a5a; font-weight: bold")
        else:
            self.record_label.setText(f" {frames} frames recorded " if frames else "")
            self.record_label.setStyleSheet("")

    def _on_record(self, checked: bool) -> None:
        self.recordToggled.emit(checked)


class ViewToolBar(QToolBar):
    """Wireframe, input point cloud, head-stabilised view, camera reset.

    Signals: wireframeToggled(bool), pointCloudToggled(bool), stabilizedToggled(bool),
    resetViewRequested().
    """

    wireframeToggled = pyqtSignal(bool)
    pointCloudToggled = pyqtSignal(bool)
    stabilizedToggled = pyqtSignal(bool)
    resetViewRequested = pyqtSignal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__("View", parent)
        self.setObjectName("viewToolBar")
        self.wireframe_action = _action(self, "Wireframe", "Show the mesh edges", checkable=True,
                                        shortcuts=("W",), name="wireframe")
        self.points_action = _action(self, "Point cloud", "Overlay the input depth as points",
                                     checkable=True, shortcuts=("P",), name="pointCloud")
        self.stabilized_action = _action(self, "Stabilised", "Cancel the head pose (head-stabilised view)",
                                         checkable=True, shortcuts=("H",), name="stabilized")
        self.reset_action = _action(self, "Reset view", "Look at the face from the front",
                                    shortcuts=("Home",), name="resetView")
        self.wireframe_action.toggled.connect(self.wireframeToggled)
        self.points_action.toggled.connect(self.pointCloudToggled)
        self.stabilized_action.toggled.connect(self.stabilizedToggled)
        self.reset_action.triggered.connect(self.resetViewRequested)
        for action in (self.wireframe_action, self.points_action, self.stabilized_action, self.reset_action):
            self.addAction(action)

    def set_state(self, wireframe: bool, points: bool, stabilized: bool) -> None:
        self.wireframe_action.setChecked(wireframe)
        self.points_action.setChecked(points)
        self.stabilized_action.setChecked(stabilized)
