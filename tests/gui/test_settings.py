"""Choices and layout persist between runs (in a temporary QSettings file)."""

from __future__ import annotations

import pytest

from models.mode import Mode

pytestmark = pytest.mark.gui


def test_settings_persist(qtbot, make_window, settings):
    first = make_window(start=False)
    first.start()
    first.set_mode(Mode.DEPTH)
    first.capture_bar.smoothing_action.trigger()  # on -> off
    first.view_bar.wireframe_action.trigger()
    first.resize(1000, 640)
    first.close()

    second = make_window(source=None, start=False, size=None)
    assert second.spec == "synthetic:width=320,height=240"
    assert second.mode == Mode.DEPTH
    assert second.worker.controls == second.worker.controls.__class__(mode=Mode.DEPTH, refine=True,
                                                                       smoothing=False)
    assert not second.capture_bar.smoothing_action.isChecked()
    assert second.capture_bar.refine_action.isChecked()
    assert second.view_bar.wireframe_action.isChecked() and second.viewport.show_wireframe
    assert (second.width(), second.height()) == (1000, 640)
