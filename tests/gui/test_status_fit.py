"""The status bar's fit error: the report's figure, over the last seconds of a depth mode."""

from __future__ import annotations

import re

import pytest

from models.mode import Mode

pytestmark = pytest.mark.gui

WAIT_MS = 30000


def _fit(window) -> str:
    window._update_status()
    return window.status.labels["fit"].text()


def test_the_status_bar_shows_the_fit_error_of_depth_modes(qtbot, make_window):
    window = make_window()  # ground-truth pipeline on the synthetic source, RGB-D
    qtbot.waitUntil(lambda: _fit(window) != "fit –", timeout=WAIT_MS)
    figure = re.fullmatch(r"fit (\d+\.\d\d) mm", _fit(window))
    assert figure, _fit(window)
    assert 0.0 < float(figure.group(1)) < 1.5  # the true mesh: the sensor's noise, not hidden vertices
    assert "fit" in window.status.text()
    window.worker.set_mode(Mode.RGB)
    qtbot.waitUntil(lambda: window.worker.last_result is not None and window.worker.last_result.mode == "rgb",
                    timeout=WAIT_MS)
    assert _fit(window) == "fit –"  # nothing to measure against without depth
