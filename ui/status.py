"""The status bar: source, mode, displayed fps, latency, fit error, dropped frames, recording state.

The fit error is the report's figure (``fit_error_mm``: the visible narrow-face vertices to
the input point cloud, :func:`models.metrics.face_fit_error_mm`), over the last seconds of a
depth mode; "fit –" where nothing measures it (RGB mode, no face, no depth).
"""

from __future__ import annotations

from PyQt6.QtWidgets import QLabel, QStatusBar


class StatusPanel:
    """Permanent labels in ``bar``; :meth:`update` sets them all."""

    def __init__(self, bar: QStatusBar):
        self.bar = bar
        self.labels: dict[str, QLabel] = {}
        for name, width in (("source", 160), ("mode", 90), ("fps", 80), ("latency", 120), ("fit", 100),
                            ("dropped", 110), ("recording", 150), ("stream", 170)):
            label = QLabel(bar)
            label.setObjectName(f"status_{name}")
            label.setMinimumWidth(width)
            bar.addPermanentWidget(label)
            self.labels[name] = label
        self.labels["fit"].setToolTip("mean distance (mm) of the visible face vertices to the depth map's point cloud")

    def update(self, *, source: str, mode: str, fps: float, latency_ms: float | None, dropped: int,
               recording: str, fit_error_mm: float | None = None, stream: str = "stream off") -> None:
        self.labels["source"].setText(f"Source: {source}")
        self.labels["mode"].setText(f"Mode: {mode}")
        self.labels["fps"].setText(f"{fps:5.1f} fps")
        self.labels["latency"].setText("latency –" if latency_ms is None else f"latency {latency_ms:4.0f} ms")
        self.labels["fit"].setText("fit –" if fit_error_mm is None else f"fit {fit_error_mm:.2f} mm")
        self.labels["dropped"].setText(f"dropped {dropped}")
        self.labels["recording"].setText(recording)
        self.labels["stream"].setText(stream)

    def text(self) -> str:
        """Everything the panel shows, for tests and logs."""
        return " | ".join(label.text() for label in self.labels.values())
