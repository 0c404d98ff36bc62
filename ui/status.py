"""The status bar: source, mode, displayed fps, latency, dropped frames, recording state."""

from __future__ import annotations

from PyQt6.QtWidgets import QLabel, QStatusBar


class StatusPanel:
    """Permanent labels in ``bar``; :meth:`update` sets them all."""

    def __init__(self, bar: QStatusBar):
        self.bar = bar
        self.labels: dict[str, QLabel] = {}
        for name, width in (("source", 160), ("mode", 90), ("fps", 80), ("latency", 120), ("dropped", 110),
                            ("recording", 150), ("stream", 170)):
            label = QLabel(bar)
            label.setObjectName(f"status_{name}")
            label.setMinimumWidth(width)
            bar.addPermanentWidget(label)
            self.labels[name] = label

    def update(self, *, source: str, mode: str, fps: float, latency_ms: float | None, dropped: int,
               recording: str, stream: str = "stream off") -> None:
        self.labels["source"].setText(f"Source: {source}")
        self.labels["mode"].setText(f"Mode: {mode}")
        self.labels["fps"].setText(f"{fps:5.1f} fps")
        self.labels["latency"].setText("latency –" if latency_ms is None else f"latency {latency_ms:4.0f} ms")
        self.labels["dropped"].setText(f"dropped {dropped}")
        self.labels["recording"].setText(recording)
        self.labels["stream"].setText(stream)

    def text(self) -> str:
        """Everything the panel shows, for tests and logs."""
        return " | ".join(label.text() for label in self.labels.values())
