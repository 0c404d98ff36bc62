"""A live webcam through OpenCV: ``webcam`` (the first camera) or ``webcam:N``.

Colour only (:attr:`Mode.RGB`). Webcams report no calibration, so frames carry the assumed
60 degree camera of :mod:`capture.opencv_sources`. Images are passed on as the camera sends
them (webcams do not mirror; a selfie-style view is the viewport's business).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import cv2

from capture.base import CaptureError, FrameSource, Mode
from capture.opencv_sources import DEFAULT_FPS, RGB_ONLY, assumed_intrinsics, to_rgb, valid_fps
from capture.spec import parse_device_number
from models.frame import Frame

log = logging.getLogger(__name__)


class WebcamSource(FrameSource):
    """Camera ``index`` as OpenCV numbers them (``/dev/videoN`` on Linux); endless.

    ``fps`` is what the driver reports once open (30 before, or when it reports nothing).
    Timestamps are seconds since the first frame, from the arrival clock.
    """

    name = "webcam"

    def __init__(self, index: int = 0):
        if index < 0:
            raise CaptureError(f"webcam index must be 0 or more, got {index}")
        self.index = index
        self._capture: cv2.VideoCapture | None = None
        self._fps = DEFAULT_FPS

    @property
    def modes(self) -> frozenset[Mode]:
        return RGB_ONLY

    @property
    def fps(self) -> float:
        return self._fps

    def open(self) -> None:
        if self._capture is not None:
            return
        capture = cv2.VideoCapture(self.index)
        if not capture.isOpened():
            capture.release()
            raise CaptureError(f"webcam {self.index} could not be opened")
        self._capture = capture
        self._fps = valid_fps(capture.get(cv2.CAP_PROP_FPS))
        log.info("webcam %d open at %.1f fps", self.index, self._fps)

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None
            log.info("webcam %d closed", self.index)

    def frames(self) -> Iterator[Frame]:
        opened_here = self._capture is None
        if opened_here:
            self.open()
        try:
            index = 0
            start = time.monotonic()
            while True:
                capture = self._capture
                ok, image = capture.read() if capture is not None else (False, None)
                if not ok or image is None:
                    if index == 0:
                        raise CaptureError(f"webcam {self.index} opened but delivered no frame")
                    raise CaptureError(f"webcam {self.index} stopped delivering frames (unplugged?)")
                now = time.monotonic()
                if index == 0:
                    start = now
                rgb = to_rgb(image)
                yield Frame(index=index, timestamp=now - start,
                            intrinsics=assumed_intrinsics(rgb.shape[1], rgb.shape[0]), rgb=rgb)
                index += 1
        finally:
            if opened_here:
                self.close()


def parse_webcam(spec: str) -> WebcamSource | None:
    """``webcam`` (camera 0) or ``webcam:N``, else None."""
    number = parse_device_number(spec, "webcam", "camera number")
    return None if number is None else WebcamSource(number)
