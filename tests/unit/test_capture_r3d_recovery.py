"""Interrupted takes: a writer killed with SIGKILL, a full disk, files cut short, and fuzzed bytes."""

from __future__ import annotations

import errno
import io
import logging
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capture.base import CaptureError
from capture.r3d import R3DSource, parse_r3d
from capture.r3d_synthetic import synthetic_intrinsics, synthetic_rgbd, write_synthetic_take
from capture.r3d_writer import R3DWriter

REPO = Path(__file__).resolve().parents[2]


def expected_depth(index: int, w: int, h: int, depth_size=None) -> np.ndarray:
    depth = synthetic_rgbd(index, w, h, depth_size)[1]
    return np.where(np.isfinite(depth) & (depth > 0), depth, 0).astype(np.float32)


# -- a writer killed mid-take ------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import sys, time
    from capture.r3d_synthetic import synthetic_intrinsics, synthetic_rgbd
    from capture.r3d_writer import R3DWriter

    writer = R3DWriter(sys.argv[1], 64, 48, 30.0, synthetic_intrinsics(64, 48), depth_size=(32, 24))
    for index in range(10_000):
        rgb, depth = synthetic_rgbd(index, 64, 48, (32, 24))
        writer.write(rgb, depth, 50.0 + index / 30)
        print(index, flush=True)
        time.sleep(0.01)
""")


def test_take_killed_with_sigkill_is_recovered(tmp_path, caplog):
    target = tmp_path / "killed.r3d"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(target)], cwd=REPO, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [child.stdout.readline() for _ in range(5)]
        assert all(line.strip() for line in lines), child.stderr.read()
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    partial = tmp_path / "killed.r3d.partial"
    assert partial.exists() and not target.exists()
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(partial)  # no central directory

    caplog.set_level(logging.WARNING, logger="capture.r3d")
    source = parse_r3d(str(partial))
    with source:
        assert source.recovered
        frames = list(source)
    assert len(frames) >= 5
    assert f"recovered {len(frames)} complete frames" in caplog.text
    for i, frame in enumerate(frames):
        assert frame.index == i and frame.size == (32, 24)
        assert frame.timestamp == pytest.approx(i / 30)  # from the per-frame extra field
        np.testing.assert_array_equal(frame.depth, expected_depth(i, 64, 48, (32, 24)))
        assert frame.intrinsics == synthetic_intrinsics(64, 48).scaled(32, 24)


def test_final_partial_member_is_dropped(tmp_path, caplog):
    path = write_synthetic_take(tmp_path / "t.r3d", 6, 32, 24)
    with zipfile.ZipFile(path) as zf:
        cut_in_depth = zf.getinfo("rgbd/3.depth").header_offset + 40
        cut_in_jpeg_header = zf.getinfo("rgbd/4.jpg").header_offset + 12
    data = path.read_bytes()
    for cut, frames in ((cut_in_depth, 3), (cut_in_jpeg_header, 4)):
        partial = tmp_path / f"cut{cut}.r3d.partial"
        partial.write_bytes(data[:cut])
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="capture.r3d"), R3DSource(partial) as source:
            decoded = list(source)
        assert len(decoded) == frames
        assert f"recovered {frames} complete frames" in caplog.text
        np.testing.assert_array_equal(decoded[-1].depth, expected_depth(frames - 1, 32, 24))


def test_file_cut_before_its_central_directory_keeps_all_frames(tmp_path):
    path = write_synthetic_take(tmp_path / "t.r3d", 4, 32, 24, fps=20.0)
    with zipfile.ZipFile(path) as zf:
        end_of_members = max(i.header_offset + 30 + len(i.filename) + i.compress_size for i in zf.infolist())
    cut = tmp_path / "cut.r3d"
    cut.write_bytes(path.read_bytes()[:end_of_members])
    with R3DSource(cut) as source:
        assert source.recovered
        frames = list(source)
    assert [f.timestamp for f in frames] == pytest.approx([0, 0.05, 0.1, 0.15])  # from 'metadata'


# -- a full disk -------------------------------------------------------------------------------


def fail_with_enospc_after(file, allowed: int):
    """Make ``file.write`` write ``allowed`` more bytes, then fail as a full disk would."""
    real_write = file.write
    budget = [allowed]

    def write(data):
        if budget[0] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        chunk = memoryview(data)[: budget[0]]
        budget[0] -= len(chunk)
        return real_write(chunk)

    file.write = write


@pytest.mark.parametrize("allowed", [0, 100, 1500, 4000, 12000])
def test_disk_full_mid_frame(tmp_path, allowed):
    target = tmp_path / "full.r3d"
    with pytest.raises(CaptureError, match=r"^disk full while recording .*full\.r3d: \d+ frames saved in .*partial$") \
            as info:
        with R3DWriter(target, 64, 48, 30.0, synthetic_intrinsics(64, 48)) as writer:
            for index in range(10):
                if index == 3:
                    fail_with_enospc_after(writer._file, allowed)  # fault injection
                writer.write(*synthetic_rgbd(index, 64, 48), float(index))
    saved = int(str(info.value).split(": ")[1].split()[0])
    assert saved == writer.frames_written >= 3
    assert not target.exists()
    with pytest.raises(CaptureError, match="failed"):
        writer.write(*synthetic_rgbd(0, 64, 48), 0.0)
    with R3DSource(writer.partial_path) as source:
        frames = list(source)
    assert len(frames) == saved
    np.testing.assert_array_equal(frames[-1].depth, expected_depth(saved - 1, 64, 48))


def test_disk_full_while_finishing(tmp_path):
    writer = R3DWriter(tmp_path / "full.r3d", 32, 24, 30.0, synthetic_intrinsics(32, 24))
    for index in range(2):
        writer.write(*synthetic_rgbd(index, 32, 24), float(index))
    fail_with_enospc_after(writer._file, 10)
    with pytest.raises(CaptureError, match="disk full while recording"):
        writer.close()
    assert writer.close() is None
    assert len(list(R3DSource(writer.partial_path))) == 2


def test_other_write_errors_are_capture_errors(tmp_path):
    writer = R3DWriter(tmp_path / "io.r3d", 32, 24, 30.0, synthetic_intrinsics(32, 24))

    def broken(data):
        raise OSError(errno.EIO, "Input/output error")

    writer._file.write = broken
    with pytest.raises(CaptureError, match="write error while recording .*Input/output error"):
        writer.write(*synthetic_rgbd(0, 32, 24), 0.0)
    writer.close()


# -- fuzzing -----------------------------------------------------------------------------------


def small_takes() -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as folder:
        ours = write_synthetic_take(Path(folder) / "ours.r3d", 2, 16, 12, depth_size=(8, 6), camera_type=1,
                                    confidence=True).read_bytes()
        foreign = Path(folder) / "foreign.r3d"
        with zipfile.ZipFile(foreign, "w", zipfile.ZIP_DEFLATED) as zf:
            with zipfile.ZipFile(Path(folder) / "ours.r3d") as source:
                for name in source.namelist():
                    zf.writestr(name, source.read(name))
        return {"ours": ours, "deflated": foreign.read_bytes()}


TAKES = small_takes()


def read_everything(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        path.write_bytes(data)
        with R3DSource(path) as source:
            source.modes  # noqa: B018 - indexes the file
            for _ in source:
                pass
            for index in range(source.num_frames):
                source.confidence_at(index)


@pytest.mark.parametrize("kind", sorted(TAKES))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_files_raise_only_capture_errors(kind, data):
    original = TAKES[kind]
    mutated = bytearray(original)
    for _ in range(data.draw(st.integers(0, 6), label="mutations")):
        position = data.draw(st.integers(0, len(mutated) - 1), label="position")
        mutated[position] = data.draw(st.integers(0, 255), label="byte")
    if data.draw(st.booleans(), label="truncate"):
        del mutated[data.draw(st.integers(0, len(mutated)), label="length"):]
    suffix = data.draw(st.sampled_from([".r3d", ".r3d.partial"]), label="suffix")
    logging.disable(logging.WARNING)
    try:
        read_everything(bytes(mutated), suffix)
    except CaptureError as exc:
        assert "\n" not in str(exc)
    finally:
        logging.disable(logging.NOTSET)


def test_unmutated_fuzz_seeds_read_cleanly():
    for data in TAKES.values():
        read_everything(data, ".r3d")


with zipfile.ZipFile(io.BytesIO(TAKES["ours"])) as _zf:
    MEMBERS = {name: _zf.read(name) for name in _zf.namelist()}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_members_with_valid_crcs_raise_only_capture_errors(data):
    """Bytes changed inside a member, the archive rewritten around them: the decoders see them."""
    name = data.draw(st.sampled_from(sorted(MEMBERS)), label="member")
    content = bytearray(MEMBERS[name])
    for _ in range(data.draw(st.integers(1, 8), label="mutations")):
        position = data.draw(st.integers(0, max(len(content) - 1, 0)), label="position")
        if content:
            content[position] = data.draw(st.integers(0, 255), label="byte")
    if data.draw(st.booleans(), label="truncate"):
        del content[data.draw(st.integers(0, len(content)), label="length"):]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for member, payload in MEMBERS.items():
            zf.writestr(member, bytes(content) if member == name else payload)
    logging.disable(logging.WARNING)
    try:
        read_everything(buffer.getvalue(), ".r3d")
    except CaptureError as exc:
        assert "\n" not in str(exc)
    finally:
        logging.disable(logging.NOTSET)
