"""Measurements behind ``python -m benchmarks.gui`` (run under xvfb-run; see that module).

:func:`measure_viewport` times the viewport update alone: a new 9,409-vertex face to OpenGL
and the draw, the GPU (or Mesa's software rasteriser) waited for.
:func:`measure_window` runs the whole window on a source for a while and reports what the
user sees: displayed frames per second, capture-to-screen latency, dropped frames.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QSettings
from PyQt6.QtWidgets import QApplication

from capture.base import FrameSource
from models.face_model import load_face_model
from models.face_result import FaceResult
from models.frame import Frame
from ui.main_window import MainWindow
from ui.packet import DisplayPacket, PacketBuilder
from ui.previews import depth_lookup_table
from ui.viewport import FaceViewport
from ui.worker import PipelineFactory


def application() -> QApplication:
    return QApplication.instance() or QApplication([])


def _pump(app: QApplication, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.002)


def viewport_packets(frames: Sequence[Frame], results: Sequence[FaceResult]) -> list[DisplayPacket]:
    """Display packets of ``frames`` and their ``results`` (built as the pipeline thread would)."""
    builder = PacketBuilder(load_face_model(), depth_lookup_table())
    return [builder.build(frame, result, time.perf_counter()) for frame, result in zip(frames, results, strict=True)]


def summary(values: Sequence[float]) -> dict[str, float]:
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return {"median": float("nan"), "p95": float("nan"), "n": 0}
    return {"median": float(np.median(array)), "p95": float(np.percentile(array, 95)), "n": int(array.size)}


def measure_viewport(packets: Sequence[DisplayPacket], repeats: int = 120,
                     size: tuple[int, int] = (960, 720)) -> dict[str, dict[str, float]]:
    """Median and 95th percentile (ms) of the viewport update over ``repeats`` new faces.

    ``update``: the CPU side of the update (the new face's arrays to OpenGL, pose, light).
    ``update_and_draw``: the update and the draw, read back (OpenGL work finished).
    ``paint``: from the new face to the end of the widget's paint, as Qt does it.
    """
    app = application()
    viewport = FaceViewport()
    widget = viewport.widget
    widget.resize(*size)
    widget.show()
    _pump(app, 0.5)
    updates, draws, paints = [], [], []
    for i in range(repeats + 5):
        drawn = viewport.drawn_packets
        start = time.perf_counter()
        viewport.show_packet(packets[i % len(packets)])
        while viewport.drawn_packets == drawn:
            app.processEvents()
        paint_ms = (time.perf_counter() - start) * 1000.0
        if i >= 5:  # warm-up: shader compilation, first buffer allocation
            updates.append(viewport.last_update_ms)
            draws.append(viewport.last_draw_ms)
            paints.append(paint_ms)
    viewport.close()
    return {"update": summary(updates), "update_and_draw": summary(draws), "paint": summary(paints)}


def measure_window(pipeline_factory: PipelineFactory, *, spec: str, source: FrameSource | None = None,
                   seconds: float = 10.0, warmup_s: float = 2.0,
                   size: tuple[int, int] = (1480, 900)) -> dict[str, object]:
    """Run the window on ``source`` (or ``spec``) and measure what is displayed.

    Returns displayed fps, capture-to-screen latency (median, p95 in ms), the pipeline's own
    latency, the viewport's update, draw and paint times per displayed frame, the share of a
    core the GUI thread used, and the session's frame counts over the measured span.
    """
    app = application()
    with tempfile.TemporaryDirectory() as folder:
        settings = QSettings(str(Path(folder) / "benchmark.ini"), QSettings.Format.IniFormat)
        window = MainWindow(pipeline_factory, settings=settings, source=spec)
        window.resize(*size)
        window.show()
        window.start(source)
        latencies, pipeline_ms, updates, draws, paints = [], [], [], [], []
        measuring = False
        viewport = window.viewport
        drawn_callback = viewport.on_drawn

        def on_drawn(packet: DisplayPacket) -> None:
            drawn_callback(packet)
            if measuring:
                latencies.append(window.latency_ms)
                pipeline_ms.append(packet.pipeline_ms)
                updates.append(viewport.last_update_ms)
                draws.append(viewport.last_draw_ms)
                paints.append(viewport.last_paint_ms)

        window.viewport.on_drawn = on_drawn
        deadline = time.perf_counter() + 120.0
        while window.viewport.drawn_packets == 0 and time.perf_counter() < deadline:
            _pump(app, 0.05)  # the source opens and the pipeline loads
        _pump(app, warmup_s)
        stats = window.worker.stats
        before = (stats.captured, stats.processed, stats.dropped, window.worker.display_skipped,
                  window.viewport.drawn_packets)
        measuring = True
        start, gui_cpu = time.perf_counter(), time.thread_time()
        _pump(app, seconds)
        elapsed, gui_cpu = time.perf_counter() - start, time.thread_time() - gui_cpu
        measuring = False
        stats = window.worker.stats
        after = (stats.captured, stats.processed, stats.dropped, window.worker.display_skipped,
                 window.viewport.drawn_packets)
        window.close()
    captured, processed, dropped, skipped, drawn = (b - a for a, b in zip(before, after, strict=True))
    return {
        "seconds": elapsed, "captured_fps": captured / elapsed, "processed_fps": processed / elapsed,
        "displayed_fps": drawn / elapsed, "dropped": dropped, "display_skipped": skipped,
        "latency_ms": summary(latencies), "pipeline_ms": summary(pipeline_ms),
        "update_ms": summary(updates), "draw_ms": summary(draws), "paint_ms": summary(paints),
        "gui_thread_cpu": gui_cpu / elapsed,
    }
