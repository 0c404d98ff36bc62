"""A take whose process is killed with SIGKILL mid-recording reopens up to its last complete frame."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from app.export.samples import synthetic_results
from app.recording import Take
from capture.r3d_synthetic import synthetic_intrinsics, synthetic_rgbd

REPO = Path(__file__).resolve().parents[2]
FPS = 30.0

CHILD = textwrap.dedent("""
    import sys, time
    from app.export.samples import synthetic_results
    from app.recording import Recorder
    from capture.r3d_synthetic import synthetic_intrinsics, synthetic_rgbd
    from models.face_model import load_face_model
    from models.frame import Frame

    model = load_face_model()
    intrinsics = synthetic_intrinsics(64, 48)
    results = synthetic_results(model, 300, 30.0, missing={2}, intrinsics=intrinsics)
    recorder = Recorder(sys.argv[1], fps=30.0, face_model=model)
    for i in range(300):
        rgb, depth = synthetic_rgbd(i, 64, 48)
        recorder.add_frame(Frame(i, i / 30.0, intrinsics, rgb, depth))
        recorder.add_result(results[i])
        while recorder.stats.frames_written <= i or recorder.stats.frames_processed <= i:
            time.sleep(0.001)
        print(i, flush=True)
        time.sleep(0.005)
""")


def test_take_killed_with_sigkill_reopens(tmp_path, face_model, caplog):
    base = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(base)], cwd=REPO, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [child.stdout.readline() for _ in range(8)]
        assert all(line.strip() for line in lines), child.stderr.read()
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=60)
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["killed.r3d.partial", "killed.results"]

    caplog.set_level(logging.WARNING)
    take = Take.open(base)
    assert take.archive.name == "killed.r3d.partial"
    assert take.num_frames >= 8 and take.num_results >= 8
    assert abs(take.num_frames - take.num_results) <= 2  # what was in flight when killed
    summary = take.summary
    assert not summary.complete and "not closed" in summary.error
    assert summary.frames_written == take.num_frames and summary.frames_processed == take.num_results
    assert summary.frames_dropped == 0

    assert list(take.capture_indices) == list(range(take.num_frames))
    with take.source() as source:
        frames = list(source)
    assert len(frames) == take.num_frames
    for f in frames:
        depth = synthetic_rgbd(f.index, 64, 48)[1]
        np.testing.assert_array_equal(f.depth, np.where(np.isfinite(depth) & (depth > 0), depth, 0))
        assert f.timestamp == f.index / FPS

    want = synthetic_results(face_model, take.num_results, FPS, missing={2},
                             intrinsics=synthetic_intrinsics(64, 48))
    for got, expected in zip(take.results(), want, strict=True):
        assert got.index == expected.index and got.found == expected.found
        np.testing.assert_array_equal(got.vertices, expected.vertices)
        np.testing.assert_array_equal(got.rotation, expected.rotation)
        np.testing.assert_array_equal(got.expression, expected.expression)

    path = take.export(tmp_path / "after-crash.abc", face_model=face_model)
    assert path.exists()
