"""The window opens, draws a face, switches modes live, survives errors and stops its threads."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtWidgets import QMessageBox

from capture.synthetic import SyntheticSource
from models.mode import Mode
from tests.gui.conftest import facefromx_threads
from tests.gui.doubles import FailingSource, GroundTruthPipeline
from ui.viewport import BACKGROUND

pytestmark = pytest.mark.gui

WAIT_MS = 30000


def face_mask(image: np.ndarray) -> np.ndarray:
    """Pixels of a rendered viewport image that are not background."""
    background = np.array(BACKGROUND[:3]) * 255
    return np.abs(image[..., :3].astype(float) - background).max(axis=-1) > 12


def wait_for_frames(qtbot, window, count: int = 2) -> None:
    start = window.viewport.drawn_packets
    qtbot.waitUntil(lambda: window.viewport.drawn_packets >= start + count, timeout=WAIT_MS)


def test_window_draws_an_upright_face(qtbot, make_window):
    window = make_window()
    wait_for_frames(qtbot, window)
    image = window.viewport.render_image()
    mask = face_mask(image)
    height, width = mask.shape
    assert 0.05 < mask.mean() < 0.8, "the face should cover part of the viewport"
    assert mask[height // 2 - 20:height // 2 + 20, width // 2 - 20:width // 2 + 20].mean() > 0.9, \
        "the face should be centred"
    rows, cols = np.nonzero(mask)
    assert np.ptp(rows) > np.ptp(cols), "a head seen from the front is taller than wide"
    # Lit: the shading varies over the face (not a flat silhouette).
    assert image[mask][:, :3].std() > 10
    assert "Mode: RGB-D" in window.status.text()
    assert "Source: Synthetic" in window.status.text()


def test_mode_switching_reaches_the_pipeline(qtbot, make_window):
    window = make_window()
    wait_for_frames(qtbot, window, 1)
    pipeline = GroundTruthPipeline.instances[-1]
    window.capture_bar.mode_actions[Mode.RGB].trigger()
    qtbot.waitUntil(lambda: pipeline.modes_processed[-1:] == ["rgb"], timeout=WAIT_MS)
    assert Mode.RGB in pipeline.mode_calls
    window.set_mode(Mode.DEPTH)
    qtbot.waitUntil(lambda: pipeline.modes_processed[-1:] == ["depth"], timeout=WAIT_MS)
    window._update_status()
    assert "Mode: Depth" in window.status.text()
    assert window.capture_bar.mode_actions[Mode.DEPTH].isChecked()


def test_modes_the_source_cannot_serve_are_disabled_and_playback_scrubs(qtbot, make_window, tmp_path):
    import cv2

    folder = tmp_path / "stills"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        cv2.imwrite(str(folder / f"img{i}.png"), rng.integers(0, 255, (60, 80, 3), dtype=np.uint8))
    window = make_window(source=str(folder))
    qtbot.waitUntil(lambda: window.timeline.isVisible(), timeout=WAIT_MS)
    actions = window.capture_bar.mode_actions
    assert actions[Mode.RGB].isEnabled() and actions[Mode.RGB].isChecked()
    assert not actions[Mode.DEPTH].isEnabled() and not actions[Mode.RGBD].isEnabled()
    window.timeline.button.click()  # pause
    assert not window.worker.source.playing
    window.timeline.slider.setValue(3)
    qtbot.waitUntil(lambda: window.viewport._current is not None and window.viewport._current.index == 3,
                    timeout=WAIT_MS)
    assert "4 / 6" in window.timeline.label.text()


def test_a_source_error_shows_a_message_and_the_window_stays(qtbot, make_window):
    window = make_window()
    wait_for_frames(qtbot, window, 1)
    flaky = FailingSource(SyntheticSource(width=160, height=120), good=2)
    window.open_source("flaky", source=flaky)
    qtbot.waitUntil(lambda: window.last_error is not None, timeout=WAIT_MS)
    assert "unplugged" in window.last_error
    box = window.findChild(QMessageBox)
    assert box is not None and box.isVisible() and "unplugged" in box.text()
    assert window.isVisible()
    # A missing file is reported too, and the window goes on with another source.
    assert not window.open_source("/no/such/take.r3d")
    assert "no such file" in window.last_error
    assert window.open_source("synthetic:width=160,height=120")
    wait_for_frames(qtbot, window, 1)


def test_closing_stops_every_thread(qtbot, make_window):
    window = make_window()
    wait_for_frames(qtbot, window, 1)
    assert facefromx_threads()
    window.close()
    assert facefromx_threads() == []


def test_view_toggles(qtbot, make_window):
    window = make_window()
    wait_for_frames(qtbot, window, 1)
    plain = face_mask(window.viewport.render_image())
    window.view_bar.wireframe_action.trigger()
    window.view_bar.points_action.trigger()
    window.view_bar.stabilized_action.trigger()
    wait_for_frames(qtbot, window, 1)
    assert window.viewport.show_wireframe and window.viewport.stabilized
    qtbot.waitUntil(lambda: window.viewport._current.points is not None, timeout=WAIT_MS)
    wait_for_frames(qtbot, window, 1)
    assert window.viewport.points.visible
    stabilised = face_mask(window.viewport.render_image())
    assert stabilised.mean() > 0.05 and (plain != stabilised).any()
    window.view_bar.reset_action.trigger()


def test_keyboard_shortcuts_switch_modes_and_record(qtbot, make_window):
    from PyQt6.QtCore import Qt

    window = make_window()
    wait_for_frames(qtbot, window, 1)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT_MS)
    qtbot.keyClick(window.viewport.widget, Qt.Key.Key_1)
    qtbot.waitUntil(lambda: window.mode == Mode.RGB, timeout=WAIT_MS)
    qtbot.keyClick(window.viewport.widget, Qt.Key.Key_3)
    qtbot.waitUntil(lambda: window.mode == Mode.RGBD, timeout=WAIT_MS)
    qtbot.keyClick(window.viewport.widget, Qt.Key.Key_R)
    assert window.takes.recording
    qtbot.keyClick(window.viewport.widget, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert not window.takes.recording


def test_closing_while_recording_closes_the_take(qtbot, make_window):
    import threading
    from pathlib import Path

    window = make_window()
    wait_for_frames(qtbot, window, 1)
    window.set_recording(True)
    qtbot.waitUntil(lambda: window.takes.frames >= 2, timeout=WAIT_MS)
    take = window.takes.recorder.paths
    window.close()
    assert facefromx_threads() == []
    assert not [t.name for t in threading.enumerate() if t.name.startswith("recorder-")]
    assert Path(take.r3d).exists() and not Path(take.r3d_partial).exists()
