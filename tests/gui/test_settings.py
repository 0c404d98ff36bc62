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


def test_start_mode_explicit_then_remembered_if_served_else_default():
    from capture.registry import open_source
    from ui.launch import start_mode

    webcam, synthetic = open_source("webcam:7"), open_source("synthetic")
    assert start_mode(webcam, None, "depth") == Mode.RGB, "a webcam cannot serve a remembered Depth"
    assert start_mode(synthetic, None, "depth") == Mode.DEPTH
    assert start_mode(synthetic, Mode.RGB, "depth") == Mode.RGB, "--mode wins over the remembered mode"
    assert start_mode(synthetic, None, "") == Mode.RGBD
    assert start_mode(synthetic, None, "garbage") == Mode.RGBD
