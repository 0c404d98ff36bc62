"""The source picker: the synthetic source, connected devices, recent files, open file/folder."""

from __future__ import annotations

import logging
from pathlib import Path

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QComboBox, QFileDialog, QWidget

from capture.base import CaptureError
from capture.registry import list_devices

log = logging.getLogger(__name__)

OPEN_FILE = "__open_file__"
OPEN_FOLDER = "__open_folder__"
REFRESH = "__refresh__"
FILE_FILTER = ("Recordings (*.r3d *.bag *.db3 *.mp4 *.mov *.avi *.mkv *.m4v *.webm);;"
               "Record3D (*.r3d);;RealSense (*.bag *.db3);;Video (*.mp4 *.mov *.avi *.mkv *.m4v *.webm);;"
               "All files (*)")


DEVICE_KINDS = ("record3d", "realsense", "webcam")


def is_device(spec: str) -> bool:
    """True for a live device (``record3d[:N]``, ``realsense[:SERIAL]``, ``webcam[:N]``)."""
    return spec.partition(":")[0] in DEVICE_KINDS


def source_label(spec: str) -> str:
    """What the picker and the status bar call a source."""
    if spec.startswith("synthetic"):
        return "Synthetic" if spec == "synthetic" else f"Synthetic ({spec.partition(':')[2]})"
    path = Path(spec)
    if path.suffix or "/" in spec or "\\" in spec:
        return path.name or spec
    return spec


class SourcePicker(QComboBox):
    """Emits sourceRequested(spec) when the user picks a source (not when set by code)."""

    sourceRequested = pyqtSignal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("sourcePicker")
        self.setToolTip("Frame source")
        self.setMinimumContentsLength(18)
        self._current = "synthetic"
        self._devices: list[tuple[str, str]] = []
        self._files: list[str] = []
        self._filling = False
        self.activated.connect(self._on_activated)
        self.refresh_devices()

    @property
    def current_spec(self) -> str:
        return self._current

    def refresh_devices(self) -> None:
        try:
            self._devices = [(device.spec, device.label) for device in list_devices()]
        except CaptureError as exc:
            log.warning("could not list devices: %s", exc)
            self._devices = []
        self._fill()

    def set_current(self, spec: str) -> None:
        """Select ``spec`` (adding it as a recent file when it is a path)."""
        self._current = spec
        known = {"synthetic"} | {s for s, _ in self._devices}
        if spec not in known and spec not in self._files:
            self._files.insert(0, spec)
            del self._files[5:]
        self._fill()

    def _fill(self) -> None:
        self._filling = True
        self.clear()
        self.addItem("Synthetic", "synthetic")
        for spec, label in self._devices:
            self.addItem(label, spec)
        for spec in self._files:
            self.addItem(source_label(spec), spec)
            self.setItemData(self.count() - 1, spec, 3)  # tool tip: the whole path
        self.insertSeparator(self.count())
        self.addItem("Open file…", OPEN_FILE)
        self.addItem("Open image folder…", OPEN_FOLDER)
        self.addItem("Refresh devices", REFRESH)
        index = self.findData(self._current)
        self.setCurrentIndex(max(index, 0))
        self._filling = False

    def _on_activated(self, index: int) -> None:
        if self._filling:
            return
        data = self.itemData(index)
        spec = None
        if data == OPEN_FILE:
            spec, _ = QFileDialog.getOpenFileName(self, "Open a recording", "", FILE_FILTER)
        elif data == OPEN_FOLDER:
            spec = QFileDialog.getExistingDirectory(self, "Open an image folder")
        elif data == REFRESH:
            self.refresh_devices()
        else:
            spec = data
        if spec and spec != self._current:
            self.sourceRequested.emit(spec)
        else:
            self._fill()  # back to the current source
