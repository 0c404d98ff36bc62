"""The registry: every source string of the contract opens the right source or fails in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from capture.base import CaptureError
from capture.image_folder import ImageFolderSource
from capture.r3d import R3DSource
from capture.realsense import RealSenseSource
from capture.realsense_file import RealSenseFileSource
from capture.record3d_live import Record3DSource
from capture.registry import known_sources, list_devices, open_source
from capture.spec import parse_device_number
from capture.synthetic import SyntheticSource
from capture.video import VideoFileSource
from capture.webcam import WebcamSource


def test_every_source_kind_of_the_contract_is_known(tmp_path: Path) -> None:
    for name in ("take.r3d", "take.bag", "take.db3", "clip.mp4"):
        (tmp_path / name).write_bytes(b"")
    cases = {
        "synthetic": SyntheticSource, "synthetic:seed=4": SyntheticSource,
        "record3d": Record3DSource, "record3d:1": Record3DSource,
        "realsense": RealSenseSource, "realsense:123456": RealSenseSource,
        "webcam": WebcamSource, "webcam:2": WebcamSource,
        str(tmp_path / "take.r3d"): R3DSource, str(tmp_path / "take.bag"): RealSenseFileSource,
        str(tmp_path / "take.db3"): RealSenseFileSource, str(tmp_path / "clip.mp4"): VideoFileSource,
    }
    for spec, kind in cases.items():
        assert isinstance(open_source(spec), kind), spec
    (tmp_path / "frames").mkdir()
    (tmp_path / "frames" / "a.png").write_bytes(b"")
    assert isinstance(open_source(str(tmp_path / "frames")), ImageFolderSource)
    assert len(known_sources()) == 8


def test_unknown_and_missing_sources_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="unknown source 'kinect'; expected one of: synthetic"):
        open_source("kinect")
    with pytest.raises(CaptureError, match="no such file"):
        open_source(str(tmp_path / "missing.r3d"))
    with pytest.raises(CaptureError, match="no such file or folder"):
        open_source(str(tmp_path / "missing"))
    with pytest.raises(CaptureError, match=r"expected webcam or webcam:N \(N = camera number\)"):
        open_source("webcam:first")


def test_device_numbers_and_listing_without_devices() -> None:
    assert parse_device_number("webcam", "webcam", "camera number") == 0
    assert parse_device_number("webcam:3", "webcam", "camera number") == 3
    assert parse_device_number("record3d", "webcam", "camera number") is None
    assert list_devices() == []  # nothing is plugged into the build machines
