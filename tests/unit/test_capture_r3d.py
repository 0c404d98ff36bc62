"""R3DWriter -> R3DSource round trips, metadata variants, and every bad-input error message."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import cv2
import liblzfse
import numpy as np
import pytest

from capture.base import CaptureError, Mode
from capture.r3d import R3DSource, parse_r3d
from capture.r3d_synthetic import synthetic_intrinsics, synthetic_rgbd, write_synthetic_take
from capture.r3d_writer import R3DWriter
from models.camera import Intrinsics
from models.r3d import ZipAppender, ZipArchive
from models.r3d.metadata import TAKE_MEMBER

# -- helpers ---------------------------------------------------------------------------------


def jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return data.tobytes()


def jpeg_round_trip(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(jpeg(rgb), np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def lzfse(array: np.ndarray) -> bytes:
    return liblzfse.compress(np.ascontiguousarray(array).tobytes())


def base_meta(w: int = 32, h: int = 24, frames: int = 2, **extra) -> dict:
    k = synthetic_intrinsics(w, h)
    meta = {"w": w, "h": h, "dw": w, "dh": h, "fps": 30, "cameraType": 0,
            "K": [k.fx, 0, 0, 0, k.fy, 0, k.cx, k.cy, 1],
            "frameTimestamps": [5.0 + i / 30 for i in range(frames)],
            "poses": [[0, 0, 0, 1, 0, 0, 0]] * frames, "initPose": [0, 0, 0, 1, 0, 0, 0]}
    meta.update(extra)
    return meta


def frame_members(index: int, w: int, h: int, dw: int | None = None, dh: int | None = None) -> dict[str, bytes]:
    rgb, depth = synthetic_rgbd(index, w, h, (dw or w, dh or h))
    return {f"rgbd/{index}.jpg": jpeg(rgb), f"rgbd/{index}.depth": lzfse(depth.astype(np.float32))}


def write_zip(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    """A .r3d written by someone else: the standard zipfile, deflated by default."""
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def foreign_take(path: Path, meta: dict | None = None, frames: int = 2, **meta_extra) -> Path:
    meta = meta if meta is not None else base_meta(frames=frames, **meta_extra)
    members = {"metadata": json.dumps(meta).encode()}
    w, h = meta.get("w", 32), meta.get("h", 24)
    if not isinstance(w, int) or not isinstance(h, int):
        w, h = 32, 24
    dw, dh = meta.get("dw", w), meta.get("dh", h)
    if not (isinstance(dw, int) and isinstance(dh, int) and dw > 0 and dh > 0):
        dw, dh = w, h
    for i in range(frames):
        members.update(frame_members(i, w, h, dw, dh))
    return write_zip(path, members)


def read_all(path: Path, workers: int | None = None) -> list:
    with R3DSource(path, workers=workers) as source:
        return list(source)


# -- round trips -------------------------------------------------------------------------------


def test_round_trip_same_grid(tmp_path):
    w, h = 64, 48
    intr = Intrinsics(fx=70.0, fy=71.0, cx=31.2, cy=23.9, width=w, height=h)
    frames = [synthetic_rgbd(i, w, h) for i in range(4)]
    frames[1][1][0, :4] = [np.nan, -1.0, np.inf, -np.inf]
    with R3DWriter(tmp_path / "t.r3d", w, h, 60.0, intr) as writer:
        assert writer.partial_path.exists() and not writer.path.exists()
        for i, (rgb, depth) in enumerate(frames):
            writer.write(rgb, depth, 100.0 + 0.02 * i)
    assert writer.path.exists() and not writer.partial_path.exists()

    source = R3DSource(tmp_path / "t.r3d")
    assert source.num_frames == 4 and source.fps == 60.0
    assert source.modes == frozenset(Mode) and source.default_mode is Mode.RGBD
    assert not source.recovered
    with source:
        decoded = list(source)
    for i, frame in enumerate(decoded):
        rgb, depth = frames[i]
        assert frame.index == i
        assert frame.timestamp == pytest.approx(0.02 * i, abs=1e-9)
        assert frame.intrinsics == intr
        assert frame.depth.dtype == np.float32 and frame.rgb.dtype == np.uint8
        expected = np.where(np.isfinite(depth) & (depth > 0), depth, 0).astype(np.float32)
        np.testing.assert_array_equal(frame.depth, expected)  # exact, invalid -> 0
        np.testing.assert_array_equal(frame.rgb, jpeg_round_trip(rgb))  # the same JPEG decode
        assert np.abs(frame.rgb.astype(int) - rgb).mean() < 4  # within JPEG tolerance
    assert decoded[1].depth[0, :4].tolist() == [0, 0, 0, 0]


def test_written_file_is_a_standard_record3d_zip(tmp_path):
    path = write_synthetic_take(tmp_path / "t.r3d", 3, 32, 24, fps=24.0, depth_size=(16, 12))
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        names = zf.namelist()
        meta = json.loads(zf.read("metadata"))
        assert all(info.compress_type == zipfile.ZIP_STORED for info in zf.infolist())
    assert {f"rgbd/{i}.{kind}" for i in range(3) for kind in ("jpg", "depth")} <= set(names)
    assert TAKE_MEMBER in names
    k = synthetic_intrinsics(32, 24)
    assert meta["K"] == [k.fx, 0, 0, 0, k.fy, 0, k.cx, k.cy, 1]  # column-major
    assert (meta["w"], meta["h"], meta["dw"], meta["dh"], meta["fps"], meta["cameraType"]) == (32, 24, 16, 12, 24.0, 0)
    assert meta["frameTimestamps"] == [1000.0 + i / 24.0 for i in range(3)]
    assert meta["poses"] == [[0, 0, 0, 1, 0, 0, 0]] * 3 and meta["initPose"] == [0, 0, 0, 1, 0, 0, 0]
    with zipfile.ZipFile(path) as zf:
        depth = np.frombuffer(liblzfse.decompress(zf.read("rgbd/1.depth")), np.float32).reshape(12, 16)
    assert np.array_equal(depth, synthetic_rgbd(1, 32, 24, (16, 12))[1], equal_nan=True)
    unzip = subprocess.run(["unzip", "-tq", str(path)], capture_output=True, text=True, check=False) \
        if Path("/usr/bin/unzip").exists() else None
    if unzip is not None:
        assert unzip.returncode == 0, unzip.stdout + unzip.stderr


@pytest.mark.parametrize(("rgb_size", "depth_size"), [
    ((128, 96), (64, 48)),  # 2x: decoded at 1/2 scale
    ((192, 256), (48, 64)),  # portrait 4x: decoded at 1/4 scale
    ((100, 60), (64, 48)),  # not a multiple: full decode, then INTER_AREA
])
def test_colour_is_delivered_on_the_depth_grid(tmp_path, rgb_size, depth_size):
    (w, h), (dw, dh) = rgb_size, depth_size
    intr = Intrinsics(fx=1.1 * w, fy=1.1 * w, cx=w / 2 + 1.5, cy=h / 2 - 2.0, width=w, height=h)
    rgb, depth = synthetic_rgbd(0, w, h, depth_size)
    with R3DWriter(tmp_path / "t.r3d", w, h, 30.0, intr, depth_size=depth_size) as writer:
        writer.write(rgb, depth, 0.0)
    [frame] = read_all(tmp_path / "t.r3d")
    assert frame.size == (dw, dh) and frame.rgb.shape == (dh, dw, 3) and frame.depth.shape == (dh, dw)
    expected = intr.scaled(dw, dh)
    assert frame.intrinsics == expected
    assert frame.intrinsics.fx == pytest.approx(intr.fx * dw / w)
    assert frame.intrinsics.cx == pytest.approx((intr.cx + 0.5) * dw / w - 0.5)
    area = cv2.resize(rgb, (dw, dh), interpolation=cv2.INTER_AREA)
    assert np.abs(frame.rgb.astype(int) - area).mean() < 6


def test_intrinsics_rescaled_when_rgb_is_twice_the_depth_grid(tmp_path):
    intr = Intrinsics(fx=600.0, fy=610.0, cx=319.5, cy=239.5, width=640, height=480)
    rgb, depth = synthetic_rgbd(0, 640, 480, (320, 240))
    with R3DWriter(tmp_path / "t.r3d", 640, 480, 30.0, intr, depth_size=(320, 240)) as writer:
        writer.write(rgb, depth, 0.0)
    [frame] = read_all(tmp_path / "t.r3d")
    i = frame.intrinsics
    assert (i.width, i.height) == (320, 240)
    assert (i.fx, i.fy, i.cx, i.cy) == pytest.approx((300.0, 305.0, 159.5, 119.5))


def test_writer_rescales_intrinsics_given_for_another_size(tmp_path):
    depth_grid = Intrinsics(fx=300.0, fy=300.0, cx=159.5, cy=119.5, width=320, height=240)
    writer = R3DWriter(tmp_path / "t.r3d", 640, 480, 30.0, depth_grid, depth_size=(320, 240))
    with writer:
        writer.write(*synthetic_rgbd(0, 640, 480, (320, 240)), 0.0)
    assert R3DSource(tmp_path / "t.r3d").metadata.intrinsics == depth_grid.scaled(640, 480)
    assert read_all(tmp_path / "t.r3d")[0].intrinsics == pytest.approx(depth_grid)


# -- metadata variants -------------------------------------------------------------------------


def test_metadata_without_depth_size_means_depth_at_rgb_size(tmp_path):
    meta = base_meta(32, 24, frames=2)
    del meta["dw"], meta["dh"]
    path = foreign_take(tmp_path / "old.r3d", meta, frames=2)
    frames = read_all(path)
    assert [f.size for f in frames] == [(32, 24)] * 2
    np.testing.assert_array_equal(frames[1].depth, np.nan_to_num(synthetic_rgbd(1, 32, 24)[1]))
    assert [f.timestamp for f in frames] == pytest.approx([0.0, 1 / 30])


def test_per_frame_intrinsics(tmp_path):
    coeffs = [[40.0 + i, 41.0 + i, 15.5 + 0.1 * i, 11.5, 0.0] for i in range(3)]  # extra number ignored
    meta = base_meta(32, 24, frames=3, dw=16, dh=12, perFrameIntrinsicCoeffs=coeffs)
    frames = read_all(foreign_take(tmp_path / "pf.r3d", meta, frames=3))
    for i, frame in enumerate(frames):
        fx, fy, cx, cy = coeffs[i][:4]
        assert frame.intrinsics == Intrinsics(fx=fx, fy=fy, cx=cx, cy=cy, width=32, height=24).scaled(16, 12)


def test_per_frame_intrinsics_flat_and_short_lists(tmp_path):
    meta = base_meta(32, 24, frames=3, perFrameIntrinsicCoeffs=[50.0, 50.0, 16.0, 12.0])  # frame 0 only
    source = R3DSource(foreign_take(tmp_path / "pf.r3d", meta, frames=3))
    with source:
        assert source.frame_at(0).intrinsics == Intrinsics(50.0, 50.0, 16.0, 12.0, 32, 24)
        assert source.frame_at(2).intrinsics == source.metadata.intrinsics  # falls back to K


def test_lidar_with_confidence(tmp_path):
    path = write_synthetic_take(tmp_path / "lidar.r3d", 3, 96, 128, depth_size=(24, 32), camera_type=1,
                                confidence=True)
    with zipfile.ZipFile(path) as zf:
        assert "rgbd/2.conf" in zf.namelist()
    with R3DSource(path) as source:
        assert source.metadata.camera_type == 1
        frames = list(source)
        conf = source.confidence_at(1)
    assert len(frames) == 3 and frames[0].size == (24, 32)
    depth = synthetic_rgbd(1, 96, 128, (24, 32))[1]
    np.testing.assert_array_equal(conf, np.where(np.isfinite(depth) & (depth > 0), 2, 0))


def test_confidence_absent_is_none(tmp_path):
    path = write_synthetic_take(tmp_path / "t.r3d", 1, 32, 24)
    with R3DSource(path) as source:
        assert source.confidence_at(0) is None


def test_file_without_depth_offers_rgb_only(tmp_path):
    meta = base_meta(32, 24, frames=2, dw=16, dh=12)
    members = {"metadata": json.dumps(meta).encode()}
    for i in range(2):
        members[f"rgbd/{i}.jpg"] = jpeg(synthetic_rgbd(i, 32, 24)[0])
    source = R3DSource(write_zip(tmp_path / "rgb.r3d", members))
    assert source.modes == frozenset({Mode.RGB})
    with pytest.raises(CaptureError, match="cannot serve mode 'depth'"):
        source.check_mode(Mode.DEPTH)
    with source:
        frames = list(source)
    assert frames[0].depth is None and frames[0].size == (32, 24)  # the RGB grid


def test_timestamps_fall_back_to_index_over_fps(tmp_path):
    meta = base_meta(32, 24, frames=3, fps=25)
    del meta["frameTimestamps"]
    frames = read_all(foreign_take(tmp_path / "t.r3d", meta, frames=3))
    assert [f.timestamp for f in frames] == pytest.approx([0.0, 0.04, 0.08])


def test_frame_count_from_members_when_metadata_has_no_lists(tmp_path):
    meta = base_meta(32, 24, frames=3)
    del meta["frameTimestamps"], meta["poses"]
    assert R3DSource(foreign_take(tmp_path / "t.r3d", meta, frames=3)).num_frames == 3


def test_random_access_and_iteration_agree(tmp_path):
    path = write_synthetic_take(tmp_path / "t.r3d", 9, 32, 24)
    sequential = read_all(path, workers=1)
    prefetched = read_all(path, workers=3)
    with R3DSource(path) as source:
        for index in (7, 2, 8, 0):
            frame = source.frame_at(index)
            np.testing.assert_array_equal(frame.rgb, sequential[index].rgb)
            np.testing.assert_array_equal(frame.depth, prefetched[index].depth)
            assert frame.timestamp == prefetched[index].timestamp
        with pytest.raises(IndexError):
            source.frame_at(9)


def test_close_during_iteration_is_a_capture_error(tmp_path):
    path = write_synthetic_take(tmp_path / "t.r3d", 12, 32, 24)
    source = R3DSource(path, workers=2)
    frames = iter(source)
    next(frames)
    source.close()
    with pytest.raises(CaptureError, match="closed"):
        for _ in frames:
            pass
    assert len(read_all(path)) == 12  # reopens after close


def test_stopping_early_releases_the_threads(tmp_path):
    path = write_synthetic_take(tmp_path / "t.r3d", 12, 32, 24)
    with R3DSource(path, workers=2) as source:
        for frame in source:
            if frame.index == 2:
                break
        assert source.frame_at(5).index == 5


def test_zip64_records_read_back(tmp_path):
    """Takes past 4 GiB or 65535 members need ZIP64: force it on a small file."""
    path = tmp_path / "z64.r3d"
    with open(path, "wb", buffering=0) as file:
        appender = ZipAppender(file, zip64_limit=0)
        appender.add("metadata", json.dumps(base_meta(32, 24, frames=2)).encode())
        for i in range(2):
            for name, data in frame_members(i, 32, 24).items():
                appender.add(name, data)
        appender.finish()
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None and len(zf.namelist()) == 5
    archive = ZipArchive.open(path)
    assert not archive.recovered
    archive.close()
    assert len(read_all(path)) == 2


def test_writer_rejects_wrong_shapes_and_use_after_close(tmp_path):
    writer = R3DWriter(tmp_path / "t.r3d", 32, 24, 30.0, synthetic_intrinsics(32, 24), depth_size=(16, 12))
    rgb, depth = synthetic_rgbd(0, 32, 24, (16, 12))
    with pytest.raises(ValueError, match="rgb must be 24x32x3 uint8"):
        writer.write(rgb[:-1], depth, 0.0)
    with pytest.raises(ValueError, match="depth must be 12x16"):
        writer.write(rgb, depth.T, 0.0)
    writer.write(rgb, depth, 0.0)
    assert writer.close() == tmp_path / "t.r3d"
    assert writer.close() == tmp_path / "t.r3d"  # twice is fine
    with pytest.raises(CaptureError, match="closed"):
        writer.write(rgb, depth, 1.0)


def test_writer_cannot_create_file(tmp_path):
    with pytest.raises(CaptureError, match="cannot create"):
        R3DWriter(tmp_path / "missing-dir" / "t.r3d", 32, 24, 30.0, synthetic_intrinsics(32, 24))


# -- the registry parser -----------------------------------------------------------------------


def test_parse_r3d(tmp_path):
    path = write_synthetic_take(tmp_path / "Take.R3D", 1, 32, 24)
    assert parse_r3d("synthetic") is None and parse_r3d("take.mp4") is None
    assert parse_r3d("take.r3d.bak") is None
    source = parse_r3d(str(path))
    assert isinstance(source, R3DSource) and source.num_frames == 1
    with pytest.raises(CaptureError, match=r"^no such file: .*nothere\.r3d$"):
        parse_r3d(str(tmp_path / "nothere.r3d"))
    with pytest.raises(CaptureError, match="no such file"):
        parse_r3d(str(tmp_path / "nothere.r3d.partial"))
    (tmp_path / "dir.r3d").mkdir()
    with pytest.raises(CaptureError, match="not a file"):
        parse_r3d(str(tmp_path / "dir.r3d"))


def test_missing_file_opened_directly(tmp_path):
    with pytest.raises(CaptureError, match="no such file"):
        R3DSource(tmp_path / "gone.r3d").open()


# -- bad input: one CaptureError line naming the problem -------------------------------------


def open_and_iterate(path: Path) -> None:
    with R3DSource(path) as source:
        for _ in source:
            pass


def assert_capture_error(path: Path, pattern: str) -> str:
    with pytest.raises(CaptureError, match=pattern) as info:
        open_and_iterate(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_not_a_zip(tmp_path):
    (tmp_path / "a.r3d").write_bytes(b"this is not a zip file at all")
    assert_capture_error(tmp_path / "a.r3d", "is not a zip archive")
    (tmp_path / "empty.r3d").write_bytes(b"")
    assert_capture_error(tmp_path / "empty.r3d", "is not a zip archive")


def test_truncated_archive(tmp_path):
    full = write_synthetic_take(tmp_path / "full.r3d", 2, 32, 24).read_bytes()
    (tmp_path / "cut.r3d").write_bytes(full[:20])
    assert_capture_error(tmp_path / "cut.r3d", "truncated archive")
    # someone else's archive with the metadata last, cut before it: nothing to recover from
    members = {**frame_members(0, 32, 24), "metadata": json.dumps(base_meta(frames=1)).encode()}
    data = write_zip(tmp_path / "foreign.r3d", members).read_bytes()
    (tmp_path / "foreign-cut.r3d").write_bytes(data[: len(data) // 2])
    assert_capture_error(tmp_path / "foreign-cut.r3d", "truncated archive")


def test_missing_metadata(tmp_path):
    path = write_zip(tmp_path / "a.r3d", frame_members(0, 32, 24))
    assert_capture_error(path, "missing 'metadata' member")


@pytest.mark.parametrize("key", ["w", "h", "K", "fps", "dh"])
def test_missing_metadata_key(tmp_path, key):
    meta = base_meta()
    del meta[key]
    path = foreign_take(tmp_path / "a.r3d", meta)
    assert_capture_error(path, f"metadata is missing key '{key}'")


@pytest.mark.parametrize(("key", "value", "pattern"), [
    ("w", "32", "key 'w' must be a pixel count"),
    ("dh", 0, "key 'dh' must be a pixel count"),
    ("fps", -1, "key 'fps' must be a positive number"),
    ("K", [1, 2, 3], "key 'K' must be 9 numbers"),
    ("cameraType", 7, "key 'cameraType' must be 0"),
    ("frameTimestamps", ["a"], "key 'frameTimestamps' must be a list of finite numbers"),
    ("perFrameIntrinsicCoeffs", [[0, 1, 2, 3]] * 2, "not positive"),
])
def test_bad_metadata_values(tmp_path, key, value, pattern):
    path = foreign_take(tmp_path / "a.r3d", {**base_meta(), key: value})
    assert_capture_error(path, pattern)


def test_metadata_not_json(tmp_path):
    path = write_zip(tmp_path / "a.r3d", {"metadata": b"{not json", **frame_members(0, 32, 24)})
    assert_capture_error(path, "metadata is not valid JSON")


def test_depth_blob_of_the_wrong_size(tmp_path):
    members = {"metadata": json.dumps(base_meta(32, 24, frames=1)).encode(), **frame_members(0, 32, 24)}
    members["rgbd/0.depth"] = lzfse(np.ones((10, 10), np.float32))
    message = assert_capture_error(write_zip(tmp_path / "a.r3d", members), "frame 0")
    assert "'rgbd/0.depth' holds 400 bytes, expected 3072 (32x24 float32)" in message


def test_depth_blob_not_lzfse(tmp_path):
    members = {"metadata": json.dumps(base_meta(32, 24, frames=1)).encode(), **frame_members(0, 32, 24)}
    members["rgbd/0.depth"] = b"definitely not lzfse"
    assert_capture_error(write_zip(tmp_path / "a.r3d", members), r"frame 0: 'rgbd/0\.depth' is corrupt")


def test_corrupt_jpeg(tmp_path):
    members = {"metadata": json.dumps(base_meta(32, 24, frames=1)).encode(), **frame_members(0, 32, 24)}
    members["rgbd/0.jpg"] = b"\xff\xd8 not really a jpeg"
    assert_capture_error(write_zip(tmp_path / "a.r3d", members), r"frame 0: corrupt JPEG 'rgbd/0\.jpg'")


def test_jpeg_of_the_wrong_size(tmp_path):
    members = {"metadata": json.dumps(base_meta(32, 24, frames=1)).encode(), **frame_members(0, 32, 24)}
    members["rgbd/0.jpg"] = jpeg(np.zeros((20, 30, 3), np.uint8))
    assert_capture_error(write_zip(tmp_path / "a.r3d", members), "is 30x20, the metadata says 32x24")


def test_missing_frame_member(tmp_path):
    members = {"metadata": json.dumps(base_meta(32, 24, frames=3)).encode()}
    for i in range(3):
        members.update(frame_members(i, 32, 24))
    del members["rgbd/1.jpg"]
    path = write_zip(tmp_path / "a.r3d", members)
    source = R3DSource(path)
    with source:
        assert source.frame_at(0).index == 0
        assert source.frame_at(2).index == 2
    assert_capture_error(path, r"frame 1: missing frame member 'rgbd/1\.jpg'")


def test_corrupt_member_bytes(tmp_path):
    path = write_synthetic_take(tmp_path / "a.r3d", 2, 32, 24)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("rgbd/1.depth")
    data = bytearray(path.read_bytes())
    data[info.header_offset + 30 + len("rgbd/1.depth") + 10] ^= 0xFF
    path.write_bytes(bytes(data))
    assert_capture_error(path, r"member 'rgbd/1\.depth' is corrupt \(CRC mismatch\)")
