"""A folder of still images as a sequence: ``.png .jpg .jpeg .bmp .tif .tiff``.

Colour only (:attr:`Mode.RGB`). Images are taken in natural order (``img2`` before
``img10``, case-insensitive); hidden files and files whose name has a ``depth``, ``disparity``
or ``confidence`` word in it (``depth_mm.png``, ``0001_depth.png``) are not colour frames and
are skipped, so an RGB-D still folder reads as its colour images. Every image must have the
size of the first; a different one is a :class:`CaptureError` naming the file.

The camera comes from an optional ``intrinsics.json`` beside the images, with the keys
``fx``, ``fy``, ``cx``, ``cy`` (pixels) and optionally ``width``, ``height`` (the image size
those numbers are for; they are rescaled to the images' size when it differs with the same
aspect). Other keys are ignored. Without the file, the assumed 60 degree camera of
:mod:`capture.opencv_sources`. Frame ``i`` has timestamp ``i / fps``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from capture.base import CaptureError, FrameSource, Mode
from capture.opencv_sources import DEFAULT_FPS, RGB_ONLY, assumed_intrinsics, to_rgb
from models.camera import Intrinsics
from models.frame import Frame

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
INTRINSICS_FILE = "intrinsics.json"
NOT_COLOUR_WORDS = frozenset({"depth", "disparity", "confidence"})


def natural_key(name: str) -> tuple:
    """Sort key that orders embedded numbers by value: ``img2`` < ``img10``."""
    parts = re.split(r"([0-9]+)", name.lower())
    # Text at even positions, digit runs at odd ones: same-position parts share a type.
    return tuple(int(part) if i % 2 else part for i, part in enumerate(parts)), name


def list_images(folder: Path) -> list[Path]:
    """The colour images of ``folder`` in natural order (see the module docstring)."""
    images = []
    for path in folder.iterdir():
        if path.name.startswith(".") or path.suffix.lower() not in IMAGE_EXTENSIONS or not path.is_file():
            continue
        if NOT_COLOUR_WORDS.intersection(re.split(r"[^a-z]+", path.stem.lower())):
            log.debug("skipping %s: not a colour image", path.name)
            continue
        images.append(path)
    return sorted(images, key=lambda path: natural_key(path.name))


def load_intrinsics(folder: Path, width: int, height: int) -> Intrinsics:
    """The camera of ``width`` x ``height`` images in ``folder`` (see the module docstring)."""
    path = folder / INTRINSICS_FILE
    if not path.is_file():
        return assumed_intrinsics(width, height)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CaptureError(f"cannot read {path}: {exc}") from None
    try:
        fx, fy, cx, cy = (float(data[key]) for key in ("fx", "fy", "cx", "cy"))
        size = int(data.get("width", width)), int(data.get("height", height))
        camera = Intrinsics(fx=fx, fy=fy, cx=cx, cy=cy, width=size[0], height=size[1])
    except (KeyError, TypeError, ValueError, AttributeError):
        raise CaptureError(f"{path} needs positive numbers fx, fy, cx, cy "
                           f"(and optionally width, height)") from None
    if size == (width, height):
        return camera
    if abs(size[0] * height - size[1] * width) > 0.01 * size[0] * height:
        raise CaptureError(f"{path} is for {size[0]}x{size[1]} images but the images are {width}x{height}")
    log.info("rescaling %s from %dx%d to %dx%d", path.name, *size, width, height)
    return camera.scaled(width, height)


class ImageFolderSource(FrameSource):
    """The images of ``path`` as frames at ``fps`` (default 30); supports :meth:`frame_at`.

    The folder is listed at construction: a folder with no images is a CaptureError there.
    """

    name = "image folder"

    def __init__(self, path: str | Path, fps: float = DEFAULT_FPS):
        self.path = Path(path).expanduser()
        if not self.path.is_dir():
            raise CaptureError(f"no such folder: {self.path}")
        if not fps > 0:
            raise CaptureError(f"image folder fps must be positive, got {fps}")
        self.files = list_images(self.path)
        if not self.files:
            raise CaptureError(f"no images in {self.path} (expected {', '.join(IMAGE_EXTENSIONS)})")
        self._fps = float(fps)
        self._intrinsics: Intrinsics | None = None

    @property
    def modes(self) -> frozenset[Mode]:
        return RGB_ONLY

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def num_frames(self) -> int:
        return len(self.files)

    @property
    def intrinsics(self) -> Intrinsics:
        """The camera of every frame (reads the first image on first use)."""
        if self._intrinsics is None:
            first = self._read(self.files[0])
            self._intrinsics = load_intrinsics(self.path, first.shape[1], first.shape[0])
        return self._intrinsics

    def open(self) -> None:
        _ = self.intrinsics

    @staticmethod
    def _read(path: Path) -> np.ndarray:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise CaptureError(f"cannot read image {path} (corrupt or unsupported)")
        return image

    def frame_at(self, index: int) -> Frame:
        """Frame ``index`` (from 0): the ``index``-th image in natural order."""
        if not 0 <= index < len(self.files):
            raise CaptureError(f"frame {index} is out of range: {self.path} has {len(self.files)} images")
        camera = self.intrinsics
        path = self.files[index]
        rgb = to_rgb(self._read(path))
        if rgb.shape[:2] != (camera.height, camera.width):
            raise CaptureError(
                f"image {path.name} is {rgb.shape[1]}x{rgb.shape[0]} but {self.files[0].name} is "
                f"{camera.width}x{camera.height}; all images in {self.path} must share one size"
            )
        return Frame(index=index, timestamp=index / self._fps, intrinsics=camera, rgb=rgb)

    def frames(self) -> Iterator[Frame]:
        for index in range(len(self.files)):
            yield self.frame_at(index)


def parse_image_folder(spec: str) -> ImageFolderSource | None:
    """An existing directory, else None; a directory with no images is a CaptureError."""
    path = Path(spec).expanduser()
    if not path.is_dir():
        return None
    return ImageFolderSource(path)
