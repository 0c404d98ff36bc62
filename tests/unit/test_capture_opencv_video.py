"""Video files through OpenCV: a short MJPG AVI written with cv2.VideoWriter and read back."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from capture.base import CaptureError, Mode
from capture.opencv_sources import assumed_intrinsics
from capture.video import VideoFileSource, parse_video

WIDTH, HEIGHT, FPS, COUNT = 64, 48, 15.0, 12


def colour(i: int) -> tuple[int, int, int]:
    """The flat RGB colour of frame ``i``: red rises, green falls, blue stays."""
    return 20 * i, 255 - 20 * i, 128


@pytest.fixture
def video(tmp_path: Path) -> Path:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (WIDTH, HEIGHT))
    assert writer.isOpened()
    for i in range(COUNT):
        r, g, b = colour(i)
        writer.write(np.full((HEIGHT, WIDTH, 3), (b, g, r), np.uint8))  # OpenCV writes BGR
    writer.release()
    return path


def assert_colour(rgb: np.ndarray, i: int) -> None:
    np.testing.assert_allclose(rgb.reshape(-1, 3).mean(axis=0), colour(i), atol=6)


def test_reads_every_frame_in_rgb_with_container_fps_and_count(video: Path) -> None:
    source = parse_video(str(video))
    assert isinstance(source, VideoFileSource)
    assert source.fps == FPS and source.num_frames == COUNT
    assert source.modes == {Mode.RGB} and source.default_mode is Mode.RGB
    with source:
        frames = list(source)
        again = [frame.index for frame in source]  # a new iteration starts from frame 0
    assert [f.index for f in frames] == list(range(COUNT)) and again == list(range(COUNT))
    assert [f.timestamp for f in frames] == pytest.approx([i / FPS for i in range(COUNT)])
    for i, frame in enumerate(frames):
        assert frame.rgb.shape == (HEIGHT, WIDTH, 3) and frame.rgb.dtype == np.uint8 and frame.depth is None
        assert_colour(frame.rgb, i)
    camera = frames[0].intrinsics
    assert camera == assumed_intrinsics(WIDTH, HEIGHT)
    assert camera.fx == pytest.approx(WIDTH / 2 / np.tan(np.radians(30)))


def test_random_access_forward_and_backward(video: Path) -> None:
    source = VideoFileSource(video)
    for i in (7, 8, 3, 11, 0):
        frame = source.frame_at(i)
        assert frame.index == i and frame.timestamp == pytest.approx(i / FPS)
        assert_colour(frame.rgb, i)
    with pytest.raises(CaptureError, match="frame 12 is out of range: clip.avi has 12 frames"):
        source.frame_at(COUNT)
    source.close()


def test_depth_is_not_offered(video: Path) -> None:
    with pytest.raises(CaptureError, match="video cannot serve mode 'depth' \\(it offers rgb\\)"):
        VideoFileSource(video).check_mode(Mode.DEPTH)


def test_missing_corrupt_and_unrelated_paths(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="^no such file: .*nope.mp4$"):
        parse_video(str(tmp_path / "nope.mp4"))
    assert parse_video(str(tmp_path / "notes.txt")) is None
    assert parse_video("webcam") is None
    bad = tmp_path / "broken.MOV"
    bad.write_bytes(b"not a video at all" * 10)
    source = parse_video(str(bad))  # the extension is matched in any case
    assert isinstance(source, VideoFileSource)
    with pytest.raises(CaptureError, match="^cannot decode video .*broken.MOV"):
        with source:
            pass
