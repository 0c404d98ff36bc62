"""Fixtures of the GUI tests: a window on the synthetic source with a ground-truth pipeline,
settings in a temporary INI file. Run under a virtual X server (xvfb-run)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest

pytest.importorskip("PyQt6")

from PyQt6.QtCore import QSettings

from tests.gui.doubles import GroundTruthPipeline

SMALL_SYNTHETIC = "synthetic:width=320,height=240"


def pytest_collection_modifyitems(items):
    if not os.environ.get("DISPLAY"):
        for item in items:
            if "gui" in item.keywords:
                item.add_marker(pytest.mark.skip(reason="needs an X display: run under xvfb-run"))


@pytest.fixture
def settings(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "facefromx.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def make_window(qtbot, settings, face_model, tmp_path) -> Iterator:
    """A factory of shown, started windows; every window is closed at the end of the test."""
    from ui.main_window import MainWindow

    windows = []
    settings.setValue("recording/folder", str(tmp_path / "takes"))

    def make(source: str | None = SMALL_SYNTHETIC, mode=None, start: bool = True, store=None,
             size: tuple[int, int] | None = (1100, 700)) -> MainWindow:
        window = MainWindow(GroundTruthPipeline, settings=store or settings, source=source, mode=mode,
                            face_model=face_model)
        qtbot.addWidget(window)
        if size is not None:
            window.resize(*size)
        window.show()
        qtbot.waitExposed(window)
        if start:
            window.start()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()


def facefromx_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("facefromx-") and t.is_alive()]
