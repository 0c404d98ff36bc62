"""A video file through OpenCV (FFmpeg): ``.mp4 .mov .avi .mkv .webm .m4v``.

Colour only (:attr:`Mode.RGB`), with the assumed 60 degree camera of
:mod:`capture.opencv_sources`. Frame rate and frame count come from the container; frame
``i`` has timestamp ``i / fps``. :meth:`VideoFileSource.frame_at` gives random access for
scrubbing, on a capture of its own so it never disturbs a running :meth:`frames` loop.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from capture.base import CaptureError, FrameSource, Mode
from capture.opencv_sources import DEFAULT_FPS, RGB_ONLY, assumed_intrinsics, to_rgb, valid_fps
from models.frame import Frame

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v")

# FFmpeg prints its own complaint about a corrupt file ("moov atom not found") before OpenCV
# reports failure; our CaptureError is the one line. OpenCV reads this when FFmpeg is first
# used (AV_LOG_QUIET = -8); set OPENCV_FFMPEG_LOGLEVEL yourself to see FFmpeg's messages.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


class VideoFileSource(FrameSource):
    """Frames of the video at ``path``, decoded in order (BGR converted to RGB).

    ``fps`` and ``num_frames`` are read from the container on first use (opening the file
    if needed); ``num_frames`` is None when the container does not say. A file that ends
    before the count it announced ends the iteration early, with a warning.
    """

    name = "video"

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()
        self._capture: cv2.VideoCapture | None = None
        self._seek_capture: cv2.VideoCapture | None = None
        self._seek_next = -1  # the frame the seek capture decodes next without seeking
        self._info: tuple[float, int | None] | None = None  # (fps, frame count)

    @property
    def modes(self) -> frozenset[Mode]:
        return RGB_ONLY

    @property
    def fps(self) -> float:
        return self._container_info()[0]

    @property
    def num_frames(self) -> int | None:
        return self._container_info()[1]

    def _open_capture(self) -> cv2.VideoCapture:
        if not self.path.is_file():
            raise CaptureError(f"no such file: {self.path}")
        capture = cv2.VideoCapture(str(self.path))
        if not capture.isOpened():
            capture.release()
            raise CaptureError(f"cannot decode video {self.path} (corrupt file or unsupported codec)")
        if self._info is None:
            fps = capture.get(cv2.CAP_PROP_FPS)
            if not (np.isfinite(fps) and fps > 0):
                log.warning("%s reports no frame rate; assuming %.0f fps", self.path.name, DEFAULT_FPS)
            count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
            self._info = (valid_fps(fps), int(count) if np.isfinite(count) and count > 0 else None)
        return capture

    def _container_info(self) -> tuple[float, int | None]:
        if self._info is None:
            self._open_capture().release()
        assert self._info is not None
        return self._info

    def open(self) -> None:
        if self._capture is None:
            self._capture = self._open_capture()
            fps, count = self._info
            log.info("video %s: %s frames at %.3f fps", self.path.name, count, fps)

    def close(self) -> None:
        for capture in (self._capture, self._seek_capture):
            if capture is not None:
                capture.release()
        self._capture = self._seek_capture = None
        self._seek_next = -1

    def _frame(self, index: int, image: np.ndarray) -> Frame:
        rgb = to_rgb(image)
        return Frame(index=index, timestamp=index / self.fps,
                     intrinsics=assumed_intrinsics(rgb.shape[1], rgb.shape[0]), rgb=rgb)

    def frames(self) -> Iterator[Frame]:
        """Every frame from the first, in order (a new iteration starts again at frame 0)."""
        opened_here = self._capture is None
        if opened_here:
            self.open()
        try:
            capture = self._capture
            if capture.get(cv2.CAP_PROP_POS_FRAMES) != 0:
                capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            index = 0
            while True:
                ok, image = capture.read()
                if not ok or image is None:
                    break
                yield self._frame(index, image)
                index += 1
            expected = self.num_frames
            if expected is not None and index < expected:
                log.warning("video %s ended after %d of the %d frames its container announced",
                            self.path.name, index, expected)
        finally:
            if opened_here:
                self.close()

    def frame_at(self, index: int) -> Frame:
        """Frame ``index`` (from 0), for scrubbing; stepping forward one frame needs no seek."""
        count = self.num_frames
        if index < 0 or (count is not None and index >= count):
            raise CaptureError(f"frame {index} is out of range: {self.path.name} has {count} frames")
        if self._seek_capture is None:
            self._seek_capture = self._open_capture()
            self._seek_next = 0
        if index != self._seek_next:
            self._seek_capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, image = self._seek_capture.read()
        if not ok or image is None:
            self._seek_next = -1
            raise CaptureError(f"could not decode frame {index} of {self.path}")
        self._seek_next = index + 1
        return self._frame(index, image)


def parse_video(spec: str) -> VideoFileSource | None:
    """A path ending in a video extension (any case); a missing file is a CaptureError."""
    path = Path(spec).expanduser()
    if path.suffix.lower() not in VIDEO_EXTENSIONS:
        return None
    if not path.is_file():
        raise CaptureError(f"no such file: {spec}")
    return VideoFileSource(path)
