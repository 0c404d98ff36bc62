"""What every exporter shares: the dispatcher, progress, cancelling, bad paths and a full disk."""

from __future__ import annotations

import dataclasses
import errno
import os
import threading

import numpy as np
import pytest

import app.export.target as target
from app.export import (
    AlembicExporter,
    ExportCancelled,
    ExportError,
    FrameAligner,
    JsonlExporter,
    LiveLinkCsvExporter,
    ObjSequenceExporter,
    UnknownExportFormatError,
    exporter_for,
)
from app.export.progress import tqdm_progress
from app.export.samples import synthetic_results
from app.export.space import points_to_space, rotation_to_space
from models.errors import FaceFromXError

FPS = 30.0
TARGETS = ["take.abc", "take.csv", "take.jsonl", "seq/"]


def destination(folder, name):
    return f"{folder / name}/" if name.endswith("/") else folder / name


@pytest.fixture(scope="module")
def take(face_model):
    return synthetic_results(face_model, 10, FPS, missing={2})


# -- dispatch ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "kind"), [
    ("out/take.abc", AlembicExporter), ("out/TAKE.ABC", AlembicExporter), ("take.csv", LiveLinkCsvExporter),
    ("take.jsonl", JsonlExporter), ("frames/", ObjSequenceExporter), ("frames", ObjSequenceExporter),
])
def test_exporter_for_picks_by_path(path, kind):
    assert type(exporter_for(path)) is kind


def test_existing_folder_is_an_obj_sequence(tmp_path):
    assert isinstance(exporter_for(tmp_path), ObjSequenceExporter)


def test_bake_pose_option_reaches_alembic():
    assert exporter_for("a.abc", bake_pose=True).bake_pose is True


@pytest.mark.parametrize("path", ["take.txt", "take.fbx", "mesh.obj"])
def test_unknown_extension_is_a_typed_one_line_error(path):
    with pytest.raises(UnknownExportFormatError) as info:
        exporter_for(path)
    assert isinstance(info.value, FaceFromXError)
    message = str(info.value)
    assert "\n" not in message and path in message and ".abc" in message


def test_unknown_space_is_an_error(tmp_path, face_model, take):
    with pytest.raises(ExportError, match="unknown export space 'maya'"):
        exporter_for(tmp_path / "a.csv").export(take, fps=FPS, face_model=face_model, space="maya")
    assert os.listdir(tmp_path) == []


# -- spaces ------------------------------------------------------------------------------------

def test_gl_space_negates_y_and_z_and_keeps_rotations_proper():
    p = np.array([[0.1, 0.2, 0.5]])
    np.testing.assert_array_equal(points_to_space(p, "gl"), [[0.1, -0.2, -0.5]])
    np.testing.assert_array_equal(points_to_space(p, "opencv"), p)
    r = rotation_to_space(np.eye(3), "gl")
    assert np.linalg.det(r) == pytest.approx(1.0)


# -- alignment ---------------------------------------------------------------------------------

def test_aligner_fills_gaps_and_rejects_going_back(take):
    aligner = FrameAligner(FPS)
    assert [f.index for f in aligner.push(take[0])] == [0]
    frames = aligner.push(take[4])
    assert [f.index for f in frames] == [1, 2, 3, 4]
    assert [f.found for f in frames] == [False, False, False, True]
    assert frames[0].result is None and frames[0].held is take[0]
    assert frames[1].timestamp == pytest.approx(take[0].timestamp + 2 / FPS)
    with pytest.raises(ExportError, match="frame numbers must increase: frame 3 came after frame 4"):
        aligner.push(take[3])


# -- progress, streaming -----------------------------------------------------------------------

@pytest.mark.parametrize("name", TARGETS)
def test_progress_reports_every_frame(tmp_path, face_model, take, name):
    calls = []
    exporter_for(destination(tmp_path, name)).export(
        take, fps=FPS, face_model=face_model, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(i, len(take)) for i in range(1, len(take) + 1)]


def test_progress_total_unknown_for_generators(tmp_path, face_model, take):
    calls = []
    exporter_for(tmp_path / "a.csv").export((r for r in take), fps=FPS, face_model=face_model,
                                            progress=lambda done, total: calls.append(total))
    assert set(calls) == {None}


def test_tqdm_progress_callback(tmp_path, face_model, take):
    with tqdm_progress("export", disable=True) as progress:
        exporter_for(tmp_path / "a.jsonl").export(take, fps=FPS, face_model=face_model, progress=progress)
    assert (tmp_path / "a.jsonl").exists()


@pytest.mark.parametrize("name", TARGETS)
def test_streaming_session(tmp_path, face_model, take, name):
    path = destination(tmp_path, name)
    with exporter_for(path).open(fps=FPS, face_model=face_model) as session:
        for result in take:
            session.write(result)
        assert not os.path.exists(str(path).rstrip("/"))  # nothing final before commit
    assert os.path.exists(str(path).rstrip("/"))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_empty_input_is_an_error(tmp_path, face_model):
    with pytest.raises(ExportError, match="no frames to export"):
        exporter_for(tmp_path / "a.jsonl").export([], fps=FPS, face_model=face_model)
    assert os.listdir(tmp_path) == []


def test_bad_frame_rate(tmp_path, face_model, take):
    with pytest.raises(ExportError, match="frame rate must be positive"):
        exporter_for(tmp_path / "a.abc").export(take, fps=0, face_model=face_model)


# -- cancelling --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", TARGETS)
def test_cancel_midway_leaves_nothing(tmp_path, face_model, take, name):
    cancel = threading.Event()

    def progress(done, total):
        if done == 4:
            cancel.set()

    with pytest.raises(ExportCancelled, match="cancelled"):
        exporter_for(destination(tmp_path, name)).export(take, fps=FPS, face_model=face_model,
                                                         progress=progress, cancel=cancel)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("name", TARGETS)
def test_cancel_keeps_an_earlier_export_intact(tmp_path, face_model, take, name):
    path = destination(tmp_path, name)
    exporter_for(path).export(take[:3], fps=FPS, face_model=face_model)
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(ExportCancelled):
        exporter_for(path).export(take, fps=FPS, face_model=face_model, cancel=lambda: True)
    assert sorted(os.listdir(tmp_path)) == before


def test_error_in_a_frame_aborts(tmp_path, face_model, take):
    bad = dataclasses.replace(take[5], vertices=np.zeros((5, 3), np.float32))
    with pytest.raises(ExportError, match="^frame 5: vertices have shape"):
        exporter_for(tmp_path / "a.abc").export([*take[:5], bad], fps=FPS, face_model=face_model)
    assert os.listdir(tmp_path) == []


# -- bad destinations --------------------------------------------------------------------------

@pytest.mark.parametrize("name", TARGETS)
def test_missing_folder_is_a_clear_error(tmp_path, face_model, take, name):
    path = destination(tmp_path / "missing", name)
    with pytest.raises(ExportError, match=r"^cannot write .*: folder .*missing does not exist$"):
        exporter_for(path).export(take, fps=FPS, face_model=face_model)


@pytest.mark.parametrize("name", TARGETS)
def test_parent_is_a_file(tmp_path, face_model, take, name):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ExportError, match=r"^cannot write .*file is not a folder$"):
        exporter_for(destination(tmp_path / "file", name)).export(take, fps=FPS, face_model=face_model)


@pytest.mark.parametrize("name", TARGETS)
def test_permission_denied(tmp_path, face_model, take, monkeypatch, name):
    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(target.tempfile, "mkstemp", denied)
    monkeypatch.setattr(target.tempfile, "mkdtemp", denied)
    with pytest.raises(ExportError, match=r"^cannot write .*: Permission denied$"):
        exporter_for(destination(tmp_path, name)).export(take, fps=FPS, face_model=face_model)
    assert os.listdir(tmp_path) == []


def test_unwritable_system_path(face_model, take):
    with pytest.raises(ExportError, match=r"^cannot write /proc/.*take\.csv: "):
        exporter_for("/proc/facefromx-test/take.csv").export(take, fps=FPS, face_model=face_model)


@pytest.mark.parametrize("name", ["take.csv", "take.jsonl", "seq/"])
@pytest.mark.parametrize("budget", [0, 5000, 400_000])
def test_disk_full_while_writing(tmp_path, face_model, take, monkeypatch, name, budget):
    remaining = [budget]
    lock = threading.Lock()
    real_write = os.write

    def full_disk_write(fd, data):
        with lock:
            if remaining[0] <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            chunk = memoryview(data)[: remaining[0]]
            remaining[0] -= len(chunk)
        return real_write(fd, chunk)

    monkeypatch.setattr(target, "_os_write", full_disk_write)
    path = destination(tmp_path, name)
    results = take if name == "seq/" else _long(take)  # more than the budget in every case
    with pytest.raises(ExportError, match=r"^disk full while writing .*(take\.csv|take\.jsonl|seq)$"):
        exporter_for(path).export(results, fps=FPS, face_model=face_model)
    assert os.listdir(tmp_path) == []


def _long(take):
    """Enough rows to pass any write budget of the test."""
    return [dataclasses.replace(take[i % len(take)], index=i, timestamp=i / FPS) for i in range(1200)]


@pytest.mark.parametrize("name", ["take.abc", "take.csv", "take.jsonl"])
def test_disk_full_at_flush(tmp_path, face_model, take, monkeypatch, name):
    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(target, "_os_fsync", no_space)
    with pytest.raises(ExportError, match=r"^disk full while writing .*take\.") as info:
        exporter_for(tmp_path / name).export(take, fps=FPS, face_model=face_model)
    assert "\n" not in str(info.value)
    assert os.listdir(tmp_path) == []


def test_alembic_archive_that_does_not_read_back_is_refused(tmp_path, face_model, take, monkeypatch):
    import app.export.alembic as alembic

    real_release = alembic.AlembicSession._release

    def release_then_truncate(self):
        real_release(self)
        if self._target.temp_path.exists():
            with open(self._target.temp_path, "r+b") as file:
                file.truncate(1000)

    monkeypatch.setattr(alembic.AlembicSession, "_release", release_then_truncate)
    with pytest.raises(ExportError, match=r"did not read back complete"):
        exporter_for(tmp_path / "a.abc").export(take, fps=FPS, face_model=face_model)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("name", TARGETS)
def test_exports_get_the_usual_permissions(tmp_path, face_model, take, name):
    umask = os.umask(0o022)
    os.umask(umask)
    path = exporter_for(destination(tmp_path, name)).export(take[:2], fps=FPS, face_model=face_model)
    expected = (0o777 if path.is_dir() else 0o666) & ~umask
    assert path.stat().st_mode & 0o777 == expected
    for child in path.iterdir() if path.is_dir() else ():
        assert child.stat().st_mode & 0o777 == 0o666 & ~umask
