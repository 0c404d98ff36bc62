"""Webcams through OpenCV: a camera that is not there, and a fake capture for the rest."""

from __future__ import annotations

import time

import numpy as np
import pytest

from capture import webcam
from capture.base import CaptureError, Mode
from capture.opencv_sources import assumed_intrinsics
from capture.webcam import WebcamSource, parse_webcam


class FakeCapture:
    """cv2.VideoCapture stand-in: ``good`` BGR frames, then read failures."""

    instances: list[FakeCapture] = []

    def __init__(self, index: int, good: int = 2, fps: float = 0.0):
        self.index, self.good, self.fps, self.reads, self.released = index, good, fps, 0, False
        FakeCapture.instances.append(self)

    def isOpened(self) -> bool:
        return True

    def get(self, prop: int) -> float:
        return self.fps

    def read(self) -> tuple[bool, np.ndarray | None]:
        self.reads += 1
        if self.reads > self.good:
            return False, None
        return True, np.full((30, 40, 3), (255, 0, 0), np.uint8)  # pure blue in BGR

    def release(self) -> None:
        self.released = True


def test_a_camera_that_is_not_there_fails_fast() -> None:
    started = time.monotonic()
    with pytest.raises(CaptureError, match="^webcam 97 could not be opened$"):
        with WebcamSource(97):
            pass
    assert time.monotonic() - started < 5.0


def test_frames_then_a_read_failure_is_a_capture_error(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeCapture.instances.clear()
    monkeypatch.setattr(webcam.cv2, "VideoCapture", FakeCapture)
    source = WebcamSource(3)
    frames = []
    with pytest.raises(CaptureError, match=r"^webcam 3 stopped delivering frames"):
        with source:
            assert source.fps == 30.0  # the driver reported 0: the default
            frames.extend(source)
    capture = FakeCapture.instances[0]
    assert capture.index == 3 and capture.released
    assert [f.index for f in frames] == [0, 1] and frames[0].timestamp == 0.0
    np.testing.assert_array_equal(frames[0].rgb[0, 0], [0, 0, 255])  # BGR became RGB
    assert frames[0].intrinsics == assumed_intrinsics(40, 30) and frames[0].depth is None


def test_no_first_frame_and_driver_fps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webcam.cv2, "VideoCapture", lambda index: FakeCapture(index, good=0, fps=24.0))
    with WebcamSource() as source:
        assert source.fps == 24.0
        with pytest.raises(CaptureError, match="^webcam 0 opened but delivered no frame"):
            next(iter(source))


def test_parse_webcam_and_modes() -> None:
    assert parse_webcam("webcam").index == 0
    assert parse_webcam("webcam:2").index == 2
    assert parse_webcam("webcams") is None and parse_webcam("record3d") is None
    with pytest.raises(CaptureError, match="expected webcam or webcam:N"):
        parse_webcam("webcam:front")
    source = WebcamSource()
    assert source.modes == {Mode.RGB} and source.num_frames is None
    with pytest.raises(CaptureError, match="webcam cannot serve mode 'depth' \\(it offers rgb\\)"):
        source.check_mode(Mode.DEPTH)
