"""SDK frames -> arrays, and framesets -> one frame per depth frame (fake frames, no SDK needed)."""

from __future__ import annotations

import numpy as np
import pytest

from capture.base import CaptureError
from capture.realsense_file import FramesetPairer
from capture.realsense_frames import depth_in_metres, format_name, intrinsics_from_profile, rgb_image
from models.camera import Intrinsics
from tests.unit.realsense_fakes import Camera, FakeFrame, FakeFrameset, FakeStreamProfile, format, stream

CAM = Camera(width=8, height=6, fx=10.0, fy=11.0, ppx=3.5, ppy=2.5)


def color_frame(data: np.ndarray, fmt: format = format.rgb8, number: int = 0, stamp: float = 0.0) -> FakeFrame:
    return FakeFrame(FakeStreamProfile(stream.color, fmt, 30, CAM), data, number, stamp)


def depth_frame(data: np.ndarray, number: int = 0, stamp: float = 0.0, fmt: format = format.z16) -> FakeFrame:
    return FakeFrame(FakeStreamProfile(stream.depth, fmt, 30, CAM), data, number, stamp)


RGB = np.random.default_rng(0).integers(0, 256, (6, 8, 3), dtype=np.uint8)


@pytest.mark.parametrize("fmt, data", [
    (format.rgb8, RGB),
    (format.bgr8, RGB[..., ::-1]),
    (format.rgba8, np.dstack([RGB, np.full((6, 8), 9, np.uint8)])),
    (format.bgra8, np.dstack([RGB[..., ::-1], np.full((6, 8), 9, np.uint8)])),
])
def test_colour_layouts_become_rgb(fmt: format, data: np.ndarray) -> None:
    out = rgb_image(color_frame(np.ascontiguousarray(data), fmt))
    assert out.dtype == np.uint8 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, RGB)


def test_yuyv_becomes_rgb() -> None:
    packed = np.zeros((6, 8, 2), np.uint8)
    packed[..., 0] = 120
    packed[..., 1] = 128
    out = rgb_image(color_frame(packed, format.yuyv))
    assert out.shape == (6, 8, 3) and out.dtype == np.uint8
    np.testing.assert_allclose(out.astype(int), 120, atol=2)  # grey: Y=120, no chroma


def test_arrays_are_copies_of_the_sdk_buffer() -> None:
    buffer = RGB.copy()
    out = rgb_image(color_frame(buffer))
    buffer[...] = 0
    np.testing.assert_array_equal(out, RGB)


def test_unsupported_formats_are_capture_errors() -> None:
    with pytest.raises(CaptureError, match="'y8' is not supported"):
        rgb_image(color_frame(np.zeros((6, 8), np.uint8), format.y8))
    with pytest.raises(CaptureError, match="'disparity16' is not supported"):
        depth_in_metres(depth_frame(np.zeros((6, 8), np.uint16), fmt=format.disparity16), 0.001)


def test_depth_in_metres() -> None:
    raw = np.array([[0, 1000, 65535]], np.uint16)
    out = depth_in_metres(depth_frame(raw), 0.001)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.0, 1.0, 65.535]], rtol=1e-6)


def test_intrinsics_and_format_names() -> None:
    profile = FakeStreamProfile(stream.color, format.rgb8, 30, CAM)
    assert intrinsics_from_profile(profile) == Intrinsics(fx=10.0, fy=11.0, cx=3.5, cy=2.5, width=8, height=6)
    assert format_name(format.bgr8) == "bgr8"


def pairer_frames(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(depth number, colour number) per frameset -> (depth value, colour value) per output."""
    def depth_of(frameset: FakeFrameset) -> np.ndarray:
        return np.asarray(frameset.get_depth_frame().get_data()).astype(np.float32)

    pairer = FramesetPairer(has_depth=True, has_color=True, depth_of=depth_of)
    out = []
    for d, c in pairs:
        frameset = FakeFrameset([depth_frame(np.full((6, 8), d, np.uint16), d, 1000.0 + 33 * d),
                                 color_frame(np.full((6, 8, 3), c, np.uint8), number=c, stamp=1000.5 + 33 * c)])
        done = pairer.push(frameset)
        if done is not None:
            out.append(done)
    if (last := pairer.flush()) is not None:
        out.append(last)
    return [(int(p.depth[0, 0]), int(p.rgb[0, 0, 0])) for p in out]


def test_each_depth_frame_once_with_its_own_colour() -> None:
    # What the SDK's pipeline hands out while playing a file: depth 2 comes first with colour
    # 1, then again with colour 2.
    sets = [(0, 0), (1, 1), (2, 1), (2, 2), (3, 2), (3, 3)]
    assert pairer_frames(sets) == [(0, 0), (1, 1), (2, 2), (3, 3)]


def test_a_missing_colour_frame_keeps_the_nearest_one() -> None:
    assert pairer_frames([(0, 0), (1, 0), (2, 2)]) == [(0, 0), (1, 0), (2, 2)]


def test_a_frame_counter_that_restarts_is_not_a_repeat() -> None:
    assert pairer_frames([(5, 5), (6, 6), (0, 0), (1, 1)]) == [(5, 5), (6, 6), (0, 0), (1, 1)]


def test_recordings_without_the_sdk(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from capture import realsense_file

    path = tmp_path / "take.db3"
    path.write_bytes(b"")
    monkeypatch.setattr(realsense_file, "rs", None)
    with pytest.raises(CaptureError, match="pyrealsense2 package is not installed"):
        realsense_file.RealSenseFileSource(path).open()
