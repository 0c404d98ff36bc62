"""Play/pause and scrubbing for sources with random access and a known length."""

from __future__ import annotations

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QSlider, QStyle, QToolButton, QWidget


class Timeline(QWidget):
    """A play/pause button, a frame slider and a frame/time label.

    Signals: playToggled(bool) (True: play), seekRequested(int) (a frame index, while dragging
    or clicking on the slider).
    """

    playToggled = pyqtSignal(bool)
    seekRequested = pyqtSignal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("timeline")
        self.button = QToolButton(self)
        self.button.setCheckable(True)
        self.button.setToolTip("Play / pause (Space)")
        self.button.setShortcut("Space")
        self.button.toggled.connect(self._on_toggled)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(0, 0)
        self.slider.setTracking(True)
        self.slider.valueChanged.connect(self._on_slider)
        self.label = QLabel(self)
        self.label.setMinimumWidth(150)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.addWidget(self.button)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        self._fps = 30.0
        self._updating = False
        self.set_playing(True)

    def set_source(self, num_frames: int, fps: float) -> None:
        self._fps = fps if fps > 0 else 30.0
        self._updating = True
        self.slider.setRange(0, max(0, num_frames - 1))
        self._updating = False
        self.set_position(0)

    def set_position(self, index: int) -> None:
        """Show frame ``index`` (a displayed frame; emits nothing)."""
        self._updating = True
        if not self.slider.isSliderDown():
            self.slider.setValue(index)
        self._updating = False
        self.label.setText(f"{index + 1} / {self.slider.maximum() + 1}   {index / self._fps:6.2f} s")

    def set_playing(self, playing: bool) -> None:
        self._updating = True
        self.button.setChecked(playing)
        self._updating = False
        icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.button.setIcon(self.style().standardIcon(icon))

    @property
    def playing(self) -> bool:
        return self.button.isChecked()

    def _on_toggled(self, checked: bool) -> None:
        self.set_playing(checked)
        if not self._updating:
            self.playToggled.emit(checked)

    def _on_slider(self, value: int) -> None:
        if not self._updating:
            self.seekRequested.emit(value)
