"""The headless runner: a source driven through the pipeline without a window.

Exports stream while the frames are processed (memory stays flat however long the take),
the recorder takes every frame, and the report (docs/CONTRACT.md) gathers the timings and
the accuracy figures.
"""

from __future__ import annotations

import logging
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from app.config import PipelineConfig
from app.export import ExportSession, exporter_for
from app.metrics_worker import MetricsWorker
from app.pipeline import Pipeline
from app.recording import Recorder
from app.recording.mesh_rebuild import decoder_id
from app.report import RunReport
from app.session import Session
from app.stop_signals import StopSignals
from app.stream import DEFAULT_SUBJECT, StreamSender, check_streams
from capture.base import FrameSource
from capture.registry import open_source
from models.errors import FaceFromXError
from models.face_result import FaceResult
from models.frame import Frame
from models.mode import Mode

log = logging.getLogger(__name__)


class HeadlessError(FaceFromXError):
    """A headless option cannot be honoured (bad frame count...)."""


@dataclass(frozen=True)
class HeadlessConfig:
    """What ``main.py --headless`` was asked to do (docs/CONTRACT.md).

    frames: how many frames to process (None: a recording to its end, a live or synthetic
    source until SIGINT or SIGTERM).
    """

    source: str = "synthetic"
    mode: str | None = None
    frames: int | None = None
    refine: bool = True
    exports: tuple[str, ...] = field(default_factory=tuple)
    space: str = "gl"
    record: Path | None = None
    report: Path | None = None
    pipeline: PipelineConfig = PipelineConfig()
    streams: tuple[str, ...] = field(default_factory=tuple)  # --stream targets
    stream_subject: str = DEFAULT_SUBJECT


def _resolve_mode(source: FrameSource, requested: str | None) -> Mode:
    mode = Mode.parse(requested) if requested else source.default_mode
    source.check_mode(mode)
    return mode


def _make_parent(path: Path) -> None:
    """Create the folder an output goes into (a missing folder is not an error)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HeadlessError(f"cannot create the folder {path.parent}: {exc.strerror or exc}") from None


def run_headless(config: HeadlessConfig) -> RunReport:
    """Process ``config.frames`` frames of the source; export, record and report as asked.

    SIGINT or SIGTERM ends the source early and the run finishes as if the source had ended
    there: the take is closed, every export committed, the report written; the signal is in
    :attr:`RunReport.interrupted` (main.py exits 130 / 143).

    Raises :class:`FaceFromXError` subclasses (one-line messages) on bad input; exports are
    then left without a file under their final names.
    """
    with StopSignals() as signals:
        return _run(config, signals)


def _run(config: HeadlessConfig, signals: StopSignals) -> RunReport:
    if config.frames is not None and config.frames < 1:
        raise HeadlessError(f"--frames must be at least 1, got {config.frames}")
    source = open_source(config.source)
    mode = _resolve_mode(source, config.mode)
    exporters = [exporter_for(path) for path in config.exports]  # bad paths fail before any work
    stream_targets = check_streams(config.streams, config.stream_subject)  # bad targets fail before any work
    for path in [*config.exports, *([config.record / "x"] if config.record else [])]:
        _make_parent(Path(path))
    limit = config.frames or source.num_frames  # None: until the source ends or a signal
    pipeline = Pipeline(PipelineConfig(**{**config.pipeline.__dict__, "mode": mode, "refine": config.refine}))
    report = RunReport(source=config.source, mode=mode.value)
    metrics = MetricsWorker(pipeline.model) if config.report else None
    found = 0

    session = Session(source, pipeline.process, drop_stale=False, max_frames=limit)
    session.on_error = lambda exc: None  # the first error is raised below: one line, from main.py
    with ExitStack() as stack:
        exports: list[ExportSession] = [
            stack.enter_context(e.open(fps=source.fps, face_model=pipeline.model, space=config.space))
            for e in exporters
        ]
        recorder = None
        if config.record is not None:
            # The log keeps pose and coefficients; the meshes are rebuilt from them with the same
            # decoder (about 2 kB a frame instead of 115 kB; app.recording.mesh_rebuild).
            recorder = Recorder.new_in(config.record, fps=source.fps, face_model=pipeline.model,
                                       store_vertices=False, decoder=decoder_id(pipeline.decoder.sidecar),
                                       wait_for_writer=True)
            stack.callback(recorder.close)
            session.frame_taps.append(recorder.add_frame)
        if stream_targets:
            sender = StreamSender(stream_targets, pipeline.model.arkit_matrix, subject=config.stream_subject,
                                  fps=source.fps)
            stack.callback(sender.close)
            session.result_sinks.append(sender.sink)
        progress = stack.enter_context(tqdm(total=limit, unit="frame", desc="Processing", disable=None, leave=False))

        def on_result(frame: Frame, result: FaceResult) -> None:
            nonlocal found
            found += result.found
            if not result.found:
                report.missing_frames.append(result.index)
            report.latency_ms.append(result.latency_ms)
            for name, ms in result.stage_ms.items():
                report.add_stage(name, ms)
            for export in exports:
                export.write(result)
            if recorder is not None:
                recorder.add_result(result)
            if metrics is not None:
                metrics.add(frame, result)
            progress.update(1)

        session.result_sinks.append(on_result)
        signals.on_stop = session.stop
        if signals.received is not None:  # a signal while loading: no frame is read
            session.stop()
        start = time.perf_counter()
        stats = session.run()
        report.wall_s = time.perf_counter() - start
        if stats.errors:
            for export in exports:
                export.abort()
            raise stats.errors[0]
        for export in exports:
            if signals.received is not None and stats.processed == 0:
                export.abort()  # interrupted before the first frame: nothing to complete
            else:
                export.commit()
    report.stage_ms = {"decode": stats.decode_ms, **report.stage_ms}
    report.frames = stats.processed
    report.faces_found = found
    report.dropped_frames = stats.dropped
    if metrics is not None:
        metrics.close()
        report.fit_error_mm = metrics.fit_error_mm
        report.gt_error_mm = metrics.gt_error_mm
    report.interrupted = signals.received
    log.info("processed %d frames (%d faces) from %s in %.2f s", report.frames, found, config.source, report.wall_s)
    if config.report:
        report.write(config.report)
    return report
