"""The headless runner: a source driven end to end without a window, measured into a report."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from app.report import RunReport
from capture.base import Mode
from capture.registry import open_source
from models.errors import FaceFromXError

log = logging.getLogger(__name__)

DEFAULT_FRAMES_OF_ENDLESS_SOURCE = 300


class UnsupportedOptionError(FaceFromXError):
    """An option that this build cannot honour yet."""


@dataclass(frozen=True)
class HeadlessConfig:
    """What ``main.py --headless`` was asked to do (docs/CONTRACT.md).

    frames: how many frames to process (None: the whole recording, or 300 frames of an
    endless source such as ``synthetic``).
    """

    source: str = "synthetic"
    mode: str | None = None
    frames: int | None = None
    refine: bool = True
    exports: tuple[str, ...] = field(default_factory=tuple)
    space: str = "gl"
    record: Path | None = None
    report: Path | None = None


def run_headless(config: HeadlessConfig) -> RunReport:
    """Open the source, pull ``config.frames`` frames through, and write the report.

    Raises :class:`FaceFromXError` subclasses (one-line messages) on bad input.
    """
    if config.exports or config.record:
        raise UnsupportedOptionError(
            "--export and --record need the face pipeline, which this build does not include yet"
        )
    if config.frames is not None and config.frames < 1:
        raise UnsupportedOptionError(f"--frames must be at least 1, got {config.frames}")
    source = open_source(config.source)
    mode = Mode.parse(config.mode) if config.mode else source.default_mode
    source.check_mode(mode)
    limit = config.frames or source.num_frames or DEFAULT_FRAMES_OF_ENDLESS_SOURCE
    report = RunReport(source=config.source, mode=mode.value)
    with source:
        frames = iter(source)
        start = time.perf_counter()
        while report.frames < limit:
            tick = time.perf_counter()
            frame = next(frames, None)
            if frame is None:
                break
            report.add_stage("decode", (time.perf_counter() - tick) * 1000.0)
            report.frames += 1
        report.wall_s = time.perf_counter() - start
    log.info("processed %d frames from %s in %.2f s", report.frames, config.source, report.wall_s)
    if config.report:
        report.write(config.report)
    return report
