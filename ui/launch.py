"""Starting the window from ``main.py``: the Qt application, the first source, and the
``--screenshot OUT.png --quit-after SECONDS`` contract (docs/CONTRACT.md)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PyQt6.QtCore import QEvent, QSettings, QTimer
from PyQt6.QtWidgets import QApplication

from app.stream import DEFAULT_SUBJECT, check_streams
from capture.base import FrameSource
from capture.registry import open_source
from models.errors import FaceFromXError
from models.mode import Mode
from ui.main_window import MainWindow
from ui.settings import APPLICATION, ORGANIZATION, SettingsStore, default_settings
from ui.worker import PipelineFactory

log = logging.getLogger(__name__)

DEFAULT_SCREENSHOT_DELAY_S = 5.0


class ScreenshotError(FaceFromXError):
    """The window could not be saved to the screenshot file."""


class PipelineUnavailableError(FaceFromXError):
    """The face pipeline (:mod:`app.pipeline`) cannot be imported in this build."""


def check_source(spec: str | None, mode: str | None) -> Mode | None:
    """Fail early, with one line, on an unknown source or a mode the source cannot serve."""
    parsed = Mode.parse(mode) if mode else None
    if spec:
        source = open_source(spec)
        if parsed is not None:
            source.check_mode(parsed)
    return parsed


def start_mode(source: FrameSource, explicit: Mode | None, restored: str) -> Mode:
    """The mode the window starts in: ``--mode`` if given, else the remembered mode when
    ``source`` can serve it, else the source's default (a webcam never starts in Depth)."""
    if explicit is not None:
        return explicit
    try:
        remembered = Mode.parse(restored) if restored else None
    except FaceFromXError:
        remembered = None
    if remembered is not None and remembered in source.modes:
        return remembered
    return source.default_mode


def _first_mode(settings: QSettings, spec: str | None, explicit: Mode | None) -> Mode | None:
    """:func:`start_mode` for the source the window will open (``spec``, else the remembered
    one); None when that source cannot even be created (the window then falls back itself)."""
    state = SettingsStore(settings).load()
    try:
        return start_mode(open_source(spec or state.source), explicit, state.mode)
    except FaceFromXError:
        return explicit


def save_screenshot(window: MainWindow, path: Path) -> None:
    """Save the whole window (viewport included) as a PNG; raises :class:`ScreenshotError`."""
    image = window.grab()
    if image.isNull() or not image.save(str(path), "PNG"):
        raise ScreenshotError(f"cannot write the screenshot {path}")


def run_gui(*, source: str | None = None, mode: str | None = None, screenshot: Path | None = None,
            quit_after: float | None = None, pipeline_factory: PipelineFactory | None = None,
            streams: tuple[str, ...] = (), stream_subject: str | None = None) -> int:
    """Run the window until it is closed (or ``quit_after`` seconds); returns the exit status.

    Raises :class:`FaceFromXError` (one line) for a bad source or mode, an unwritable
    screenshot, or a missing pipeline.
    """
    parsed_mode = check_source(source, mode)
    if streams or stream_subject is not None:  # bad --stream input: one line, before the window
        check_streams(streams, DEFAULT_SUBJECT if stream_subject is None else stream_subject)
    if screenshot is not None and not screenshot.resolve().parent.is_dir():
        raise ScreenshotError(f"cannot write the screenshot {screenshot}: its folder does not exist")
    if pipeline_factory is None:
        try:
            from app.pipeline import Pipeline
        except ImportError as exc:
            raise PipelineUnavailableError(f"the face pipeline cannot be loaded: {exc}") from None
        pipeline_factory = Pipeline
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    settings = default_settings()
    window = MainWindow(pipeline_factory, settings=settings, source=source,
                        mode=_first_mode(settings, source, parsed_mode), streams=streams, stream_subject=stream_subject)
    window.show()
    window.start()
    failures: list[FaceFromXError] = []
    if screenshot is not None or quit_after is not None:
        delay = quit_after if quit_after is not None else DEFAULT_SCREENSHOT_DELAY_S

        def finish() -> None:
            if screenshot is not None:
                try:
                    save_screenshot(window, screenshot)
                    log.info("screenshot saved to %s", screenshot)
                except FaceFromXError as exc:
                    failures.append(exc)
            window.close()

        QTimer.singleShot(int(delay * 1000), finish)
    app.lastWindowClosed.connect(app.quit)
    status = app.exec()
    # Tear the window down while Qt and VisPy are whole, not in the interpreter's exit clean-up.
    window.deleteLater()
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    app.processEvents()
    if failures:
        raise failures[0]
    return status
