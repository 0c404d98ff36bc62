"""PNG depth sequences: a folder of 16-bit depth PNGs, colour images and an ``intrinsics.json``.

Layout (one sequence per folder; frames pair by file stem, in sorted order, so zero-pad the
numbers)::

    take/
      intrinsics.json          the depth camera (training.data.camera_file), with depth_scale
      depth/000000.png         16-bit depth, depth_scale metres per unit (default 0.001: mm), 0 invalid
      rgb/000000.jpg           colour (.jpg, .jpeg or .png) registered to the depth camera: the
                               same viewpoint and field of view; resized to the depth grid
      rgb/000000.pts           optional 68 landmarks in the colour image's pixels (.pts/.txt/.npy)

Depth frames without a colour image of the same stem are left out (logged).
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from models.frame import Frame
from training.data.camera_file import CAMERA_FILE, read_camera_file
from training.data.errors import DataError
from training.data.landmark_files import find_landmarks, read_landmarks
from training.data.rgb_folder import IMAGE_SUFFIXES, read_rgb

__all__ = ["DepthFolder", "is_depth_folder"]

log = logging.getLogger(__name__)


def is_depth_folder(path: Path) -> bool:
    """True when ``path`` has an ``intrinsics.json`` and a ``depth/`` folder."""
    return (path / CAMERA_FILE).is_file() and (path / "depth").is_dir()


class DepthFolder:
    """One PNG depth sequence (see the module doc), frames by index.

    Attributes:
        path: the sequence folder; intrinsics: the depth grid's camera; depth_scale: metres
        per PNG unit; depth_files, rgb_files: the paired frames, in order.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not is_depth_folder(self.path):
            raise DataError(f"{self.path}: not a PNG depth sequence (needs {CAMERA_FILE} and depth/)")
        camera = read_camera_file(self.path / CAMERA_FILE)
        self.intrinsics, self.depth_scale = camera.intrinsics, camera.depth_scale
        colour = {p.stem: p for p in sorted((self.path / "rgb").glob("*"))
                  if p.suffix.lower() in IMAGE_SUFFIXES} if (self.path / "rgb").is_dir() else {}
        depth = sorted(p for p in (self.path / "depth").glob("*") if p.suffix.lower() == ".png")
        self.depth_files = [p for p in depth if p.stem in colour]
        self.rgb_files = [colour[p.stem] for p in self.depth_files]
        if len(self.depth_files) < len(depth):
            log.warning("%s: %d depth frames have no colour image of the same stem and are left out",
                        self.path, len(depth) - len(self.depth_files))

    @property
    def num_frames(self) -> int:
        return len(self.depth_files)

    def depth_at(self, index: int) -> np.ndarray:
        """(H, W) float32 metres of frame ``index``, 0 where invalid."""
        path = self.depth_files[index]
        raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if raw is None:
            raise DataError(f"cannot read depth image {path}")
        if raw.dtype != np.uint16 or raw.ndim != 2:
            raise DataError(f"{path}: depth must be a single-channel 16-bit PNG, got {raw.dtype} {raw.shape}")
        k = self.intrinsics
        if raw.shape != (k.height, k.width):
            raise DataError(f"{path}: depth is {raw.shape[1]}x{raw.shape[0]}, {CAMERA_FILE} says {k.width}x{k.height}")
        return raw.astype(np.float32) * np.float32(self.depth_scale)

    def frame_and_landmarks(self, index: int) -> tuple[Frame, np.ndarray | None]:
        """Frame ``index`` (colour and depth on the depth grid; the timestamp is the index) and
        its (68, 2) float32 landmarks in depth-grid pixels, or None without a landmark file."""
        k = self.intrinsics
        rgb = read_rgb(self.rgb_files[index])
        height, width = rgb.shape[:2]
        landmarks = None
        path = find_landmarks(self.rgb_files[index], 2)
        if path is not None:
            scale = np.array([k.width / width, k.height / height], np.float32)
            landmarks = (read_landmarks(path, 2) + 0.5) * scale - 0.5  # pixel centres at integers
        if (width, height) != (k.width, k.height):
            rgb = cv2.resize(rgb, (k.width, k.height), interpolation=cv2.INTER_AREA)
        frame = Frame(index=index, timestamp=float(index), intrinsics=k, rgb=rgb, depth=self.depth_at(index))
        return frame, landmarks
