"""Recording takes: round trips, dropped frames, full disks, and re-reading for export."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import threading
import time

import numpy as np
import pytest

import app.recording.results_log as results_log
import capture.r3d_writer as r3d_writer
from app.export.samples import synthetic_results
from app.recording import Recorder, RecordingError, Take, TakePaths, read_results_log
from capture.r3d_synthetic import synthetic_intrinsics, synthetic_rgbd
from models.errors import FaceFromXError
from models.frame import Frame

FPS = 30.0
W, H = 64, 48
INTR = synthetic_intrinsics(W, H)


def frame(index: int) -> Frame:
    rgb, depth = synthetic_rgbd(index, W, H)
    return Frame(index, index / FPS, INTR, rgb, depth)


def expected_depth(index: int) -> np.ndarray:
    depth = synthetic_rgbd(index, W, H)[1]
    return np.where(np.isfinite(depth) & (depth > 0), depth, 0)


def wait_for(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


def assert_same_result(got, want):
    assert (got.index, got.found, got.mode) == (want.index, want.found, want.mode)
    assert got.timestamp == want.timestamp and got.intrinsics == want.intrinsics
    for name in ("rotation", "translation", "identity", "expression", "vertices", "landmarks_3d", "landmarks_2d"):
        a, b = getattr(got, name), getattr(want, name)
        if b is None:
            assert a is None, name
        else:
            np.testing.assert_array_equal(a, b, err_msg=name)


@pytest.fixture(scope="module")
def results(face_model):
    return synthetic_results(face_model, 30, FPS, missing={0, 7}, intrinsics=INTR)


def test_round_trip(tmp_path, face_model, results):
    with Recorder(tmp_path / "take.r3d", fps=FPS, face_model=face_model) as recorder:
        for i in range(12):
            assert recorder.add_frame(frame(i))
            assert recorder.add_result(results[i])
    summary = recorder.summary
    assert (summary.frames_captured, summary.frames_written, summary.frames_dropped,
            summary.frames_processed) == (12, 12, 0, 12)
    assert summary.complete and summary.error is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.r3d", "take.results", "take.summary.json"]
    assert json.loads((tmp_path / "take.summary.json").read_text())["frames_written"] == 12

    take = Take.open(tmp_path / "take")
    assert take.archive == tmp_path / "take.r3d" and take.fps == FPS
    assert take.num_frames == 12 and take.num_results == 12 and take.summary == summary
    with take.source() as source:
        frames = list(source)
    assert [f.index for f in frames] == list(range(12))
    assert frames[5].timestamp == pytest.approx(5 / FPS)
    np.testing.assert_array_equal(frames[5].depth, expected_depth(5))
    assert np.abs(frames[5].rgb.astype(int) - frame(5).rgb).mean() < 8  # JPEG
    for got, want in zip(take.results(), results[:12], strict=True):
        assert_same_result(got, want)


def test_vertices_rebuilt_from_the_face_model(tmp_path, face_model, results):
    with Recorder(tmp_path / "lean", fps=FPS, face_model=face_model, store_vertices=False) as recorder:
        for i in range(4):
            recorder.add_frame(frame(i))
            recorder.add_result(results[i])
    take = Take.open(tmp_path / "lean.results")
    assert take.header.num_vertices == 0
    assert all(r.vertices is None for r in take.results())
    rebuilt = take.results(face_model)
    assert rebuilt[0].vertices is None  # no face yet: nothing to rebuild
    for got, want in zip(rebuilt[1:], results[1:4], strict=True):
        np.testing.assert_allclose(got.vertices, want.vertices, atol=2e-6)
    assert (tmp_path / "lean.results").stat().st_size < 20_000


def test_export_a_take(tmp_path, face_model, results):
    with Recorder(tmp_path / "take", fps=FPS, face_model=face_model) as recorder:
        for i in range(6):
            recorder.add_frame(frame(i))
            recorder.add_result(results[i])
    take = Take.open(tmp_path / "take.r3d")
    path = take.export(tmp_path / "take.jsonl", face_model=face_model)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["index"] for line in lines] == list(range(6))
    np.testing.assert_allclose(lines[3]["translation"], results[3].translation * [1, -1, -1])
    abc = take.export(tmp_path / "take.abc", face_model=face_model)
    assert abc.exists()


def test_export_covers_frames_the_pipeline_skipped(tmp_path, face_model, results):
    """Raw frames before the first result and after the last are exported as not found."""
    with Recorder(tmp_path / "skips", fps=FPS, face_model=face_model) as recorder:
        for i in range(8):
            recorder.add_frame(frame(i))
        for i in (2, 4, 5):
            recorder.add_result(results[i])
    take = Take.open(tmp_path / "skips")
    assert [r.index for r in take.iter_frame_results()] == [0, 1, 2, 4, 5, 6, 7]
    progress = []
    path = take.export(tmp_path / "skips.jsonl", face_model=face_model, progress=lambda d, t: progress.append((d, t)))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["index"] for line in lines] == list(range(8))
    assert [line["found"] for line in lines] == [False, False, True, False, True, True, False, False]
    assert lines[0]["translation"] is None and lines[1]["timestamp"] == pytest.approx(1 / FPS)
    assert lines[7]["translation"] == lines[5]["translation"]  # the last face is held
    assert progress[-1] == (7, 8)


def test_frames_dropped_when_the_writer_falls_behind(tmp_path, face_model, results, monkeypatch):
    gate = threading.Event()
    real_write = r3d_writer.R3DWriter.write

    def slow_write(self, *args, **kwargs):
        gate.wait(20)
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(r3d_writer.R3DWriter, "write", slow_write)
    recorder = Recorder(tmp_path / "busy", fps=FPS, face_model=face_model, queue_frames=2)
    accepted = [recorder.add_frame(frame(i)) for i in range(10)]
    for i in range(10):
        recorder.add_result(results[i])
    assert accepted == [True, True] + [False] * 8
    stats = recorder.stats
    assert (stats.frames_captured, stats.frames_dropped) == (10, 8)
    gate.set()
    summary = recorder.close()
    assert (summary.frames_captured, summary.frames_written, summary.frames_dropped,
            summary.frames_processed) == (10, 2, 8, 10)

    take = Take.open(tmp_path / "busy")
    assert take.num_frames == 2 and list(take.capture_indices) == [0, 1]
    log = read_results_log(take.paths.results)
    assert sorted(log.drops["capture_index"].tolist()) == list(range(2, 10))
    assert set(log.drops["reason"].tolist()) == {results_log.DROP_QUEUE_FULL}
    assert take.num_results == 10  # results of dropped frames are kept


def test_capture_numbers_survive_a_gap(tmp_path, face_model, results, monkeypatch):
    """Frames dropped in the middle: the archive is contiguous, the take maps it back."""
    gate = threading.Event()
    gate.set()
    real_write = r3d_writer.R3DWriter.write

    def gated_write(self, *args, **kwargs):
        gate.wait(20)
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(r3d_writer.R3DWriter, "write", gated_write)
    recorder = Recorder(tmp_path / "gap", fps=FPS, queue_frames=1)
    recorder.add_frame(frame(0))
    wait_for(lambda: recorder.stats.frames_written == 1)
    gate.clear()
    assert recorder.add_frame(frame(1))
    assert not recorder.add_frame(frame(2))  # queue of one frame, still being written
    gate.set()
    wait_for(lambda: recorder.stats.frames_written == 2)
    recorder.add_frame(frame(3))
    recorder.close()
    take = Take.open(tmp_path / "gap.r3d")
    assert list(take.capture_indices) == [0, 1, 3]
    with take.source() as source:
        frames = list(source)
    assert [f.index for f in frames] == [0, 1, 3]
    assert frames[2].timestamp == pytest.approx(3 / FPS)
    np.testing.assert_array_equal(frames[2].depth, expected_depth(3))


def test_full_disk_while_recording_keeps_earlier_frames(tmp_path, face_model, results, monkeypatch):
    full = threading.Event()
    real_open = open

    def open_on_a_filling_disk(path, *args, **kwargs):
        file = real_open(path, *args, **kwargs)
        real_write = file.write

        def write(data):
            if full.is_set():
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real_write(data)

        file.write = write
        return file

    monkeypatch.setattr(r3d_writer, "open", open_on_a_filling_disk, raising=False)
    recorder = Recorder(tmp_path / "full", fps=FPS, face_model=face_model)
    for i in range(8):
        if i == 3:
            full.set()
        recorder.add_frame(frame(i))
        recorder.add_result(results[i])
        wait_for(lambda i=i: recorder.stats.frames_written + recorder.stats.frames_dropped == i + 1)
    stats = recorder.stats
    assert (stats.frames_captured, stats.frames_written, stats.frames_dropped) == (8, 3, 5)
    assert stats.error.startswith("disk full while recording") and "3 frames saved" in stats.error
    summary = recorder.close()
    assert summary.frames_dropped == 5 and summary.error == stats.error
    assert not (tmp_path / "full.r3d").exists() and (tmp_path / "full.r3d.partial").exists()

    take = Take.open(tmp_path / "full.r3d")
    assert take.archive.name == "full.r3d.partial"
    assert take.num_frames == 3 and take.summary.frames_dropped == 5
    with take.source() as source:
        frames = list(source)
    np.testing.assert_array_equal(frames[2].depth, expected_depth(2))
    log = read_results_log(take.paths.results)
    assert sorted(log.drops["capture_index"].tolist()) == [3, 4, 5, 6, 7]
    assert set(log.drops["reason"].tolist()) == {results_log.DROP_WRITE_FAILED}


def test_full_disk_for_the_results_log(tmp_path, face_model, results, monkeypatch):
    full = threading.Event()
    real_write = os.write

    def write(fd, data):
        if full.is_set():
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(results_log, "_os_write", write)
    recorder = Recorder(tmp_path / "log", fps=FPS, face_model=face_model)
    for i in range(6):
        if i == 4:
            full.set()
        recorder.add_frame(frame(i))
        recorder.add_result(results[i])
        wait_for(lambda i=i: recorder.stats.frames_processed + recorder.stats.results_dropped == i + 1)
    summary = recorder.close()
    assert summary.frames_processed == 4 and summary.results_dropped == 2
    assert summary.error.startswith("disk full while recording") and "log.results" in summary.error
    take = Take.open(tmp_path / "log")
    assert take.num_results == 4 and take.num_frames == 6
    assert_same_result(take.results()[3], results[3])


def test_cut_short_or_corrupt_results_log_keeps_complete_records(tmp_path, face_model, results):
    path = tmp_path / "cut.results"
    writer = results_log.ResultsLogWriter(path, results_log.LogHeader(fps=FPS, num_vertices=9409))
    for i in range(5):
        writer.frame(i, i, i / FPS)
        writer.result(results[i])
    writer.close()
    data = path.read_bytes()
    full = read_results_log(path)
    assert not full.truncated and full.num_results == 5 and len(full.frames) == 5
    for cut in np.linspace(len(data) // 3, len(data) - 1, 15).astype(int):
        path.write_bytes(data[:cut])
        log = read_results_log(path)
        assert log.truncated
        assert [r.index for r in log.iter_results()] == list(range(log.num_results))
        assert log.num_results == sum(1 for offset in full.result_offsets
                                      if offset + log.header.result_dtype.itemsize <= cut)
    corrupt = bytearray(data)
    corrupt[full.result_offsets[2] + 100] ^= 0xFF
    path.write_bytes(bytes(corrupt))
    log = read_results_log(path)
    assert log.truncated and log.num_results == 2
    path.write_bytes(b"FFXRLOG1\x10")
    with pytest.raises(RecordingError, match="header cut short"):
        read_results_log(path)


def test_take_names_and_errors(tmp_path, face_model):
    assert TakePaths.of(tmp_path / "a.r3d.partial").base == tmp_path / "a"
    assert TakePaths.of(tmp_path / "a.b.summary.json").results == tmp_path / "a.b.results"
    recorder = Recorder.new_in(tmp_path, fps=FPS)
    other = Recorder.new_in(tmp_path, fps=FPS)
    assert recorder.paths.base != other.paths.base
    assert recorder.paths.name.startswith("take-")
    with pytest.raises(RecordingError, match="already exists"):
        Recorder(recorder.paths.r3d, fps=FPS)
    recorder.close()
    other.close()
    with pytest.raises(RecordingError, match="is closed"):
        recorder.add_frame(frame(0))
    with pytest.raises(RecordingError, match="no take at"):
        Take.open(tmp_path / "nothing")
    with pytest.raises(RecordingError, match="does not exist"):
        Recorder(tmp_path / "missing" / "take", fps=FPS)
    with pytest.raises(FaceFromXError, match="no results to export"):
        Take.open(recorder.paths.results).export(tmp_path / "a.csv", face_model=face_model)


def test_depth_only_and_colour_only_frames(tmp_path):
    with Recorder(tmp_path / "depth", fps=FPS) as recorder:
        f = frame(0)
        recorder.add_frame(dataclasses.replace(f, rgb=None))
        recorder.add_frame(dataclasses.replace(frame(1), depth=None))
    assert recorder.summary.frames_written == 2 and recorder.summary.error is None
    with Take.open(tmp_path / "depth").source() as source:
        frames = list(source)
    np.testing.assert_array_equal(frames[0].depth, expected_depth(0))
    assert not frames[1].depth.any()
