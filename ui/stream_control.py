"""The toolbar's Stream control: targets, subject and on/off for the live streams
(:mod:`app.stream`), and the packet-rate text of the status bar.

While on, a :class:`app.stream.StreamSender` is one of the worker's result sinks: it takes each
result on the pipeline thread without blocking and sends from its own thread. Targets are the
``--stream`` specs separated by commas or spaces (``livelink, vmc:192.168.1.20``). A target or
subject that cannot be used is reported through :attr:`StreamControl.failed` and the control
stays off.
"""

from __future__ import annotations

import re
import time
from collections import deque

import numpy as np
from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget

from app.stream import DEFAULT_SUBJECT, StreamSender, check_streams
from models.errors import FaceFromXError
from ui.worker import SessionWorker

DEFAULT_TARGETS = "livelink"
RATE_WINDOW_S = 2.0


def split_targets(text: str) -> list[str]:
    """``"livelink, vmc:host"`` -> ``["livelink", "vmc:host"]`` (commas, semicolons or spaces)."""
    return [part for part in re.split(r"[\s,;]+", text.strip()) if part]


class StreamControl(QWidget):
    """Stream on/off with its targets and Live Link subject.

    Signals: toggled(bool) (the stream state changed), failed(str) (one line: a bad target or
    subject; the control is off).
    """

    toggled = pyqtSignal(bool)
    failed = pyqtSignal(str)

    def __init__(self, worker: SessionWorker, arkit_matrix: np.ndarray, *, targets: str = DEFAULT_TARGETS,
                 subject: str = DEFAULT_SUBJECT, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("streamControl")
        self.worker = worker
        self.arkit_matrix = arkit_matrix
        self.fps = 30.0
        self.sender: StreamSender | None = None
        self._samples: deque[tuple[float, int]] = deque()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        self.button = QToolButton(self)
        self.button.setObjectName("stream")
        self.button.setText("Stream")
        self.button.setCheckable(True)
        self.button.setToolTip("Send every frame to Unreal Live Link (livelink[:HOST[:PORT]]) "
                               "or a VMC receiver (vmc[:HOST[:PORT]]) over UDP")
        self.targets_edit = QLineEdit(targets, self)
        self.targets_edit.setObjectName("streamTargets")
        self.targets_edit.setPlaceholderText("livelink, vmc:HOST:PORT")
        self.targets_edit.setMinimumWidth(170)
        self.targets_edit.setToolTip("Stream targets, separated by commas: livelink[:HOST[:PORT]] "
                                     "(default 127.0.0.1:11111), vmc[:HOST[:PORT]] (default 127.0.0.1:39539)")
        self.subject_edit = QLineEdit(subject, self)
        self.subject_edit.setObjectName("streamSubject")
        self.subject_edit.setMaximumWidth(110)
        self.subject_edit.setToolTip("Live Link subject name")
        layout.addWidget(self.button)
        layout.addWidget(self.targets_edit)
        layout.addWidget(QLabel("as", self))
        layout.addWidget(self.subject_edit)
        self.button.toggled.connect(self._on_button)

    # -- state ------------------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self.sender is not None

    @property
    def targets_text(self) -> str:
        return self.targets_edit.text().strip()

    @property
    def subject(self) -> str:
        return self.subject_edit.text()

    def set_on(self, on: bool) -> bool:
        """Start or stop streaming; True when the control ends in the state asked for."""
        self.button.setChecked(on)
        return self.active == on

    def set_fps(self, fps: float) -> None:
        """The source's frame rate (Live Link frame times)."""
        self.fps = fps if fps > 0 else 30.0
        if self.sender is not None:
            self.sender.set_fps(self.fps)

    def _on_button(self, on: bool) -> None:
        if on == self.active:
            return
        if on:
            try:
                targets = check_streams(split_targets(self.targets_text) or [DEFAULT_TARGETS], self.subject)
                self.sender = StreamSender(targets, self.arkit_matrix, subject=self.subject, fps=self.fps)
            except FaceFromXError as exc:
                self.button.blockSignals(True)
                self.button.setChecked(False)
                self.button.blockSignals(False)
                self.failed.emit(str(exc))
                return
            self.worker.result_sinks.append(self.sender.sink)
        else:
            self._stop()
        self.targets_edit.setEnabled(not on)
        self.subject_edit.setEnabled(not on)
        self._samples.clear()
        self.toggled.emit(on)

    def _stop(self) -> None:
        sender, self.sender = self.sender, None
        if sender is None:
            return
        if sender.sink in self.worker.result_sinks:
            self.worker.result_sinks.remove(sender.sink)
        sender.close(timeout=1.0)

    def shutdown(self) -> None:
        """Stop streaming (the window closes)."""
        self._stop()

    # -- status -----------------------------------------------------------------------------------

    def packet_rate(self, now: float | None = None) -> float:
        """Datagrams per second sent over the last ``RATE_WINDOW_S`` seconds (0 when off)."""
        if self.sender is None:
            return 0.0
        now = time.perf_counter() if now is None else now
        sent = sum(stats.sent for stats in self.sender.stats.values())
        self._samples.append((now, sent))
        while len(self._samples) > 2 and now - self._samples[0][0] > RATE_WINDOW_S:
            self._samples.popleft()
        (t0, n0), (t1, n1) = self._samples[0], self._samples[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0

    def status_text(self, now: float | None = None) -> str:
        """``stream off`` or ``stream 60 pkt/s → 2 targets`` (with failures and drops when any)."""
        if self.sender is None:
            return "stream off"
        rate = self.packet_rate(now)
        count = len(self.sender.targets)
        text = f"stream {rate:4.0f} pkt/s → {count} target{'s' if count != 1 else ''}"
        failed = sum(stats.failed for stats in self.sender.stats.values()) + self.sender.dropped
        return f"{text} · {failed} lost" if failed else text
