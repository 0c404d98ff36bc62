"""The toolbar's Stream control: on/off, targets, subject, the status bar's packet rate, the
settings store, ``--stream`` at start and its one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pylivelinkface import PyLiveLinkFace

from tests.gui.conftest import SMALL_SYNTHETIC
from tests.gui.doubles import GroundTruthPipeline
from tests.unit.test_stream_livelink import Collector

pytestmark = pytest.mark.gui

RUN_MAIN = Path(__file__).with_name("run_main.py")


@pytest.fixture
def receivers():
    livelink, vmc = Collector(), Collector()
    yield livelink, vmc
    livelink.close()
    vmc.close()


def test_stream_on_sends_and_shows_the_rate_off_stops(qtbot, make_window, receivers):
    livelink, vmc = receivers
    window = make_window()
    control = window.stream
    assert control.status_text() == "stream off" and not control.active
    control.targets_edit.setText(f"livelink:127.0.0.1:{livelink.port}, vmc:127.0.0.1:{vmc.port}")
    control.subject_edit.setText("Gui Actor")
    qtbot.mouseClick(control.button, qtbot_left())
    assert control.active and control.button.isChecked()
    assert not control.targets_edit.isEnabled() and not control.subject_edit.isEnabled()
    sender = control.sender
    assert sender.sink in window.worker.result_sinks
    qtbot.waitUntil(lambda: len(livelink.datagrams) >= 10 and len(vmc.datagrams) >= 10, timeout=15000)
    ok, face = PyLiveLinkFace.decode(livelink.datagrams[-1])
    assert ok and face.name == "Gui Actor"
    assert vmc.datagrams[-1].startswith(b"#bundle")
    label = window.status.labels["stream"]
    qtbot.waitUntil(lambda: "pkt/s → 2 targets" in label.text() and not label.text().startswith("stream    0"),
                    timeout=10000)
    qtbot.mouseClick(control.button, qtbot_left())
    assert not control.active and control.targets_edit.isEnabled()
    assert sender.sink not in window.worker.result_sinks and sender.frames_sent >= 10
    count = len(livelink.datagrams)
    qtbot.wait(400)
    assert len(livelink.datagrams) <= count + 1  # one frame may have been on its way
    qtbot.waitUntil(lambda: label.text() == "stream off", timeout=5000)


def test_a_bad_target_is_reported_and_the_control_stays_off(qtbot, make_window):
    window = make_window()
    window.stream.targets_edit.setText("livelink, osc:127.0.0.1")
    window.stream.set_on(True)
    assert not window.stream.active and not window.stream.button.isChecked()
    assert "unknown stream kind 'osc'" in window.last_error
    window.stream.targets_edit.setText("livelink:127.0.0.1:70000")
    window.stream.set_on(True)
    assert not window.stream.active and "out of range" in window.last_error


def test_targets_and_subject_persist(qtbot, make_window):
    first = make_window()
    first.stream.targets_edit.setText("vmc:127.0.0.1:39540")
    first.stream.subject_edit.setText("Persisted")
    first.close()
    second = make_window(source=None, start=False)
    assert second.stream.targets_text == "vmc:127.0.0.1:39540"
    assert second.stream.subject == "Persisted"
    assert not second.stream.active  # streaming starts only when asked


def test_stream_option_starts_streaming(qtbot, settings, face_model, receivers):
    from ui.main_window import MainWindow

    livelink, _ = receivers
    window = MainWindow(GroundTruthPipeline, settings=settings, source=SMALL_SYNTHETIC, face_model=face_model,
                        streams=(f"livelink:127.0.0.1:{livelink.port}",), stream_subject="Cli")
    qtbot.addWidget(window)
    window.show()
    window.start()
    try:
        assert window.stream.active
        qtbot.waitUntil(lambda: len(livelink.datagrams) >= 3, timeout=15000)
        assert PyLiveLinkFace.decode(livelink.datagrams[0])[1].name == "Cli"
    finally:
        window.close()
    assert not window.stream.active


@pytest.mark.parametrize(("args", "message"), [(["--stream", "osc"], "unknown stream kind 'osc'"),
                                               (["--stream", "vmc:no-such-host.invalid"], "cannot resolve host"),
                                               (["--stream-subject", ""], "subject name is empty")])
def test_gui_bad_stream_input_is_one_line_and_exit_2(tmp_path, args, message):
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"))
    done = subprocess.run([sys.executable, str(RUN_MAIN), *args, "--quit-after", "1"], capture_output=True,
                          text=True, env=env, timeout=120, cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in done.stderr


def qtbot_left():
    from PyQt6.QtCore import Qt

    return Qt.MouseButton.LeftButton
