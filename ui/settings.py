"""What the window remembers between runs, kept in QSettings.

The last source, input mode and toggles, and the window's geometry and dock/toolbar layout.
Tests pass their own QSettings (an INI file in a temporary folder).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from PyQt6.QtCore import QByteArray, QSettings
from PyQt6.QtWidgets import QMainWindow

ORGANIZATION = "FaceFromX"
APPLICATION = "FaceFromX"


def default_settings() -> QSettings:
    """The user's settings store (per platform: ~/.config/FaceFromX/FaceFromX.conf on Linux)."""
    return QSettings(ORGANIZATION, APPLICATION)


@dataclass
class UiState:
    """The remembered choices (mode: ``rgb``/``depth``/``rgbd`` or empty for the source's richest)."""

    source: str = "synthetic"
    mode: str = ""
    refine: bool = True
    smoothing: bool = True
    wireframe: bool = False
    point_cloud: bool = False
    stabilized: bool = False
    stream_targets: str = "livelink"  # the Stream control's targets and Live Link subject
    stream_subject: str = "FaceFromX"


class SettingsStore:
    """Reads and writes :class:`UiState` and the window layout in ``settings``."""

    def __init__(self, settings: QSettings):
        self.settings = settings

    def load(self) -> UiState:
        state = UiState()
        for f in fields(UiState):
            default = getattr(state, f.name)
            value = self.settings.value(f"ui/{f.name}", default, type=type(default))
            setattr(state, f.name, value)
        return state

    def save(self, state: UiState) -> None:
        for f in fields(UiState):
            self.settings.setValue(f"ui/{f.name}", getattr(state, f.name))
        self.settings.sync()

    def restore_window(self, window: QMainWindow) -> bool:
        """Restore geometry and layout; False when nothing was saved yet."""
        geometry = self.settings.value("window/geometry", type=QByteArray)
        state = self.settings.value("window/state", type=QByteArray)
        restored = bool(geometry) and window.restoreGeometry(geometry)
        if state:
            window.restoreState(state)
        return restored

    def save_window(self, window: QMainWindow) -> None:
        self.settings.setValue("window/geometry", window.saveGeometry())
        self.settings.setValue("window/state", window.saveState())
        self.settings.sync()
