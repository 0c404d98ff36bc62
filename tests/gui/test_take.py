"""Record a take, export it, snapshot the mesh."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.gui

WAIT_MS = 30000


def test_record_then_export(qtbot, make_window, tmp_path):
    window = make_window()
    qtbot.waitUntil(lambda: window.viewport.drawn_packets >= 1, timeout=WAIT_MS)
    window.capture_bar.record_action.trigger()
    assert window.takes.recording
    qtbot.waitUntil(lambda: window.takes.frames >= 4 and window.takes.recorder.stats.frames_processed >= 3,
                    timeout=WAIT_MS)
    window._update_status()
    assert "REC" in window.status.text()
    with qtbot.waitSignal(window.takes.takeClosed, timeout=WAIT_MS):
        window.capture_bar.record_action.trigger()
    take = window.takes.last_take
    assert Path(f"{take}.r3d").exists() and Path(f"{take}.results").exists()
    assert window.capture_bar.export_action.isEnabled()
    for destination in (tmp_path / "take.abc", tmp_path / "take.csv", tmp_path / "take.jsonl", tmp_path / "objs"):
        target = str(destination) + ("/" if destination.suffix == "" else "")
        with qtbot.waitSignal(window.takes.exportFinished, timeout=WAIT_MS) as finished:
            window.export_take(target)
        assert Path(finished.args[0]).exists()
    assert len(list((tmp_path / "objs").glob("frame_*.obj"))) >= 3
    assert len((tmp_path / "take.jsonl").read_text().splitlines()) >= 4


def test_export_failure_is_a_message(qtbot, make_window, tmp_path):
    window = make_window()
    window.export_take(str(tmp_path / "take.abc"))
    assert "record a take first" in window.last_error


def test_snapshot_writes_one_obj(qtbot, make_window, tmp_path):
    window = make_window()
    qtbot.waitUntil(lambda: window.worker.last_result is not None, timeout=WAIT_MS)
    folder = tmp_path / "snapshots"
    folder.mkdir()
    path = window.save_snapshot(str(folder / "face.obj"))
    text = path.read_text()
    assert sum(line.startswith("v ") for line in text.splitlines()) == 9409
    assert [p.name for p in folder.iterdir()] == ["face.obj"]


def test_export_dialog_offers_every_format(qtbot, tmp_path):
    from ui.export_dialog import ExportDialog

    dialog = ExportDialog("take-1", tmp_path)
    qtbot.addWidget(dialog)
    destinations = {}
    for index in range(dialog.format_box.count()):
        dialog.format_box.setCurrentIndex(index)
        destinations[dialog.format_box.currentText()] = dialog.destination()
    assert destinations["Alembic (.abc)"] == str(tmp_path / "take-1.abc")
    assert destinations["OBJ sequence (folder)"] == str(tmp_path / "take-1-obj") + "/"
    assert destinations["Live Link Face CSV (.csv)"].endswith("take-1.csv")
    assert destinations["JSON Lines (.jsonl)"].endswith("take-1.jsonl")
    dialog.space_box.setCurrentIndex(1)
    assert dialog.space() == "opencv"
