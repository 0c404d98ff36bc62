"""Image folders: natural order, intrinsics.json, size checks and the error lines."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from capture.base import CaptureError, Mode
from capture.image_folder import ImageFolderSource, natural_key, parse_image_folder
from capture.opencv_sources import assumed_intrinsics


def write(path: Path, rgb: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> None:
    width, height = size
    assert cv2.imwrite(str(path), np.full((height, width, 3), rgb[::-1], np.uint8))


def test_natural_order_colours_and_default_camera(tmp_path: Path) -> None:
    names = ["img10.png", "img2.png", "IMG1.jpg", "img3.bmp", "img20.tif"]
    colours = {"IMG1.jpg": (200, 10, 10), "img2.png": (10, 200, 10), "img3.bmp": (10, 10, 200),
               "img10.png": (200, 200, 10), "img20.tif": (10, 200, 200)}
    for name in names:
        write(tmp_path / name, colours[name])
    (tmp_path / "notes.txt").write_text("not an image")
    write(tmp_path / "depth_mm.png", (1, 2, 3), size=(8, 8))  # skipped: a depth map, not colour
    write(tmp_path / ".hidden.png", (1, 2, 3), size=(8, 8))

    source = parse_image_folder(str(tmp_path))
    assert isinstance(source, ImageFolderSource)
    assert [p.name for p in source.files] == ["IMG1.jpg", "img2.png", "img3.bmp", "img10.png", "img20.tif"]
    assert source.num_frames == 5 and source.fps == 30.0 and source.modes == {Mode.RGB}
    with source:
        frames = list(source)
    assert [f.index for f in frames] == [0, 1, 2, 3, 4]
    assert frames[3].timestamp == pytest.approx(0.1)
    for frame, path in zip(frames, source.files, strict=True):
        np.testing.assert_allclose(frame.rgb.reshape(-1, 3).mean(axis=0), colours[path.name], atol=4)
        assert frame.intrinsics == assumed_intrinsics(40, 30)
    np.testing.assert_array_equal(source.frame_at(1).rgb, frames[1].rgb)
    with pytest.raises(CaptureError, match="frame 5 is out of range"):
        source.frame_at(5)


def test_natural_key_orders_numbers_by_value() -> None:
    names = ["a10b2", "a2b10", "a2b9", "a1", "b", "a"]
    assert sorted(names, key=natural_key) == ["a", "a1", "a2b9", "a2b10", "a10b2", "b"]


def test_intrinsics_json_with_the_shared_data_keys(tmp_path: Path) -> None:
    write(tmp_path / "frame_0001.png", (50, 60, 70), size=(48, 64))
    # The keys of the real TrueDepth still's intrinsics.json, extra keys included.
    data = {"width": 480, "height": 640, "fx": 599.09, "fy": 599.09, "cx": 241.06, "cy": 318.06,
            "depth_png_units": "millimeters (uint16, 0 = invalid)", "K_reference": [[1, 0, 0]] * 3}
    (tmp_path / "intrinsics.json").write_text(json.dumps(data))
    camera = ImageFolderSource(tmp_path).frame_at(0).intrinsics
    assert (camera.width, camera.height) == (48, 64)
    assert camera.fx == pytest.approx(59.909) and camera.fy == pytest.approx(59.909)
    assert camera.cx == pytest.approx((241.06 + 0.5) / 10 - 0.5)

    data.pop("width"), data.pop("height")  # without a size: the numbers are for these images
    (tmp_path / "intrinsics.json").write_text(json.dumps(data))
    assert ImageFolderSource(tmp_path).intrinsics.fx == pytest.approx(599.09)


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "cannot read .*intrinsics.json"),
    ('{"fx": 500, "fy": 500, "cx": 20}', "intrinsics.json needs positive numbers fx, fy, cx, cy"),
    ('{"fx": -5, "fy": 500, "cx": 20, "cy": 30}', "intrinsics.json needs positive numbers"),
    ('{"fx": 5, "fy": 5, "cx": 20, "cy": 30, "width": 640, "height": 480}',
     "intrinsics.json is for 640x480 images but the images are 48x64"),
])
def test_bad_intrinsics_json(tmp_path: Path, content: str, message: str) -> None:
    write(tmp_path / "a.png", (1, 2, 3), size=(48, 64))
    (tmp_path / "intrinsics.json").write_text(content)
    with pytest.raises(CaptureError, match=message):
        with ImageFolderSource(tmp_path):
            pass


def test_images_of_different_sizes_name_the_file(tmp_path: Path) -> None:
    write(tmp_path / "shot1.png", (1, 2, 3), size=(40, 30))
    write(tmp_path / "shot2.png", (1, 2, 3), size=(40, 30))
    write(tmp_path / "shot3.png", (1, 2, 3), size=(30, 40))
    source = ImageFolderSource(tmp_path)
    with pytest.raises(CaptureError, match="^image shot3.png is 30x40 but shot1.png is 40x30"):
        list(source)


def test_empty_missing_and_unreadable(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CaptureError, match="^no images in .*empty"):
        parse_image_folder(str(empty))
    (empty / "readme.txt").write_text("x")
    with pytest.raises(CaptureError, match="^no images in"):
        parse_image_folder(str(empty))
    assert parse_image_folder(str(tmp_path / "absent")) is None
    assert parse_image_folder(str(empty / "readme.txt")) is None
    with pytest.raises(CaptureError, match="^no such folder"):
        ImageFolderSource(tmp_path / "absent")
    (empty / "broken.jpg").write_bytes(b"garbage")
    with pytest.raises(CaptureError, match="^cannot read image .*broken.jpg"):
        list(ImageFolderSource(empty))


def test_depth_is_not_offered(tmp_path: Path) -> None:
    write(tmp_path / "a.png", (1, 2, 3))
    with pytest.raises(CaptureError, match="image folder cannot serve mode 'rgbd'"):
        ImageFolderSource(tmp_path).check_mode(Mode.RGBD)
