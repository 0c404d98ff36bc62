"""Face detection in colour: RGB mode (and RGB-D frames whose depth found nothing).

The detector is dlib's HOG + linear SVM frontal face detector (``dlib.get_frontal_face_detector``,
from the ``dlib-bin`` wheel: the model is compiled into the library, nothing is downloaded).
See ``inference/localize/README.md`` for the comparison with the other candidates and why.

It finds upright faces (roll within about +-20 degrees, yaw within about +-30), so
:class:`RgbLocalizer` tries the image at the four quarter turns, the preferred one first (the
tracked orientation), and stops at the first face: a TrueDepth frame of an upright phone is
found at one turn. The box becomes a crop with the calibration below, so that an RGB crop
frames the face like training's crops (centred on the landmarks' centroid, 0.26 m wide).

Any detector with the :class:`FaceDetector` interface can replace it.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from inference.localize.orientation import angle_of_turns, rotate_quarter, to_source
from inference.localize.types import Localization, Origin
from models.camera import Intrinsics
from models.crop import FaceCrop, crop_camera, warp_rgb

__all__ = ["Detection", "DlibHogDetector", "FaceDetector", "RgbLocalizer", "RgbLocalizerConfig"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Detection:
    """An upright face box in the detector's input image: pixels, and a raw score."""

    x0: float
    y0: float
    x1: float
    y1: float
    score: float


class FaceDetector(Protocol):
    """Finds upright faces in an (H, W) uint8 grayscale or (H, W, 3) RGB image."""

    name: str

    def detect(self, rgb: np.ndarray) -> list[Detection]: ...


class DlibHogDetector:
    """dlib's frontal HOG detector on a downscaled grayscale image.

    Args:
        max_side: the image is shrunk (area interpolation) so its longer side is at most this
            many pixels: 320 finds faces of 80+ pixels at that scale, i.e. 160+ in a 640 frame
            (a face within ~0.55 m of a TrueDepth camera); the detector's cost grows with the
            square of it.
        threshold: the SVM score a detection needs (dlib's default is 0).
    """

    name = "dlib-hog"

    def __init__(self, max_side: int = 320, threshold: float = 0.0):
        import dlib  # the dlib-bin wheel; imported here so the rest of the package loads without it

        self._detector = dlib.get_frontal_face_detector()
        self.max_side = max_side
        self.threshold = threshold

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
        scale = min(1.0, self.max_side / max(gray.shape))
        if scale < 1.0:
            gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        rects, scores, _ = self._detector.run(np.ascontiguousarray(gray), 0, self.threshold)
        return [Detection(r.left() / scale, r.top() / scale, (r.right() + 1) / scale, (r.bottom() + 1) / scale,
                          float(s)) for r, s in zip(rects, scores, strict=True)]


@dataclass(frozen=True)
class RgbLocalizerConfig:
    """Settings of :class:`RgbLocalizer`.

    box_to_crop: crop side over the box's side; box_shift: the crop centre's offset from the
        box centre, in box sides, in the upright face's frame (x right, y down). Calibrated on
        synthetic frames (seeds 1000-1019, dlib at 320 px) against training's crops (the
        landmark centroid, 0.26 m): median 1.69 (spread 8 %) and (0.00, 0.05).
    score_scale: the raw score s maps to ``1 / (1 + exp(-s / score_scale))``.
    confirm_window: :meth:`RgbLocalizer.confirms` looks at a window this many crop sides wide,
        turned upright by the crop's angle, resampled to ``confirm_pixels`` square (the face
        box is then ~95 px, above dlib's 80 px minimum, whatever the face's size in the image).
    confirm_offset: ... and accepts a face whose crop centre lies within this many crop sides
        of the crop's centre, and whose crop side is within ``confirm_size_ratio`` (either way).
    """

    box_to_crop: float = 1.69
    box_shift: tuple[float, float] = (0.0, 0.05)
    score_scale: float = 0.5
    confirm_window: float = 1.6
    confirm_pixels: int = 256
    confirm_offset: float = 0.35
    confirm_size_ratio: float = 1.6


class RgbLocalizer:
    """Finds a face in a colour image at any quarter turn.

    >>> localizer = RgbLocalizer()                     # dlib HOG
    >>> found = localizer.locate(frame.rgb)            # Localization | None
    """

    def __init__(self, detector: FaceDetector | None = None, config: RgbLocalizerConfig | None = None):
        self.detector = detector if detector is not None else DlibHogDetector()
        self.config = config or RgbLocalizerConfig()

    def locate(self, rgb: np.ndarray, preferred_turns: int = 0) -> Localization | None:
        """The most confident face, trying ``preferred_turns`` (0-3) first, then the others
        (the opposite turn last); None when no turn shows one.

        Args:
            rgb: (H, W, 3) uint8 RGB.
        """
        height, width = rgb.shape[:2]
        order = [(preferred_turns + k) % 4 for k in (0, 1, 3, 2)]
        for turns in order:
            found = self.detector.detect(rotate_quarter(rgb, turns))
            if found:
                best = max(found, key=lambda d: d.score)
                return self._localization(best, turns, width, height)
        return None

    def confirms(self, rgb: np.ndarray, intrinsics: Intrinsics, crop: FaceCrop) -> bool:
        """Whether a face lies where ``crop`` says: the detector, on an upright window around
        the crop (see :class:`RgbLocalizerConfig`), finds a face of about the crop's size near
        its centre. For tracks placed from colour alone, whose network always answers.

        Args:
            rgb: (H, W, 3) uint8 RGB of the frame ``intrinsics`` describes.
            crop: the face crop to check, source pixels.
        """
        c = self.config
        window = crop_camera(intrinsics, FaceCrop(crop.centre_x, crop.centre_y, c.confirm_window * crop.size,
                                                  crop.angle), c.confirm_pixels)
        side_px = c.confirm_pixels / c.confirm_window  # the crop's side in window pixels
        middle = (c.confirm_pixels - 1) / 2.0
        for det in self.detector.detect(warp_rgb(rgb, window)):
            found = self._localization(det, 0, c.confirm_pixels, c.confirm_pixels).crop
            offset = math.hypot(found.centre_x - middle, found.centre_y - middle) / side_px
            ratio = found.size / side_px
            if offset <= c.confirm_offset and 1.0 / c.confirm_size_ratio <= ratio <= c.confirm_size_ratio:
                return True
        return False

    def _localization(self, det: Detection, turns: int, width: int, height: int) -> Localization:
        c = self.config
        side = max(det.x1 - det.x0, det.y1 - det.y0)
        centre = np.array([(det.x0 + det.x1) / 2 + c.box_shift[0] * side,
                           (det.y0 + det.y1) / 2 + c.box_shift[1] * side])
        # Boxes are in continuous coordinates (pixel i covers [i, i + 1)); crops in pixel indices.
        centre_src = to_source(centre - 0.5, turns, width, height)
        crop = FaceCrop(float(centre_src[0]), float(centre_src[1]), float(c.box_to_crop * side), angle_of_turns(turns))
        score = 1.0 / (1.0 + math.exp(-det.score / c.score_scale))
        return Localization(crop=crop, origin=Origin.RGB, score=score)
