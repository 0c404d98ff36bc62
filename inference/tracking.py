"""Finding the face once, then following it from frame to frame.

Detection: in frames with depth, :class:`~inference.localize.depth.DepthLocalizer` (the
nearest head-and-shoulders surface, any roll, with a rigid fit of the mean face); in colour
only frames, :class:`~inference.rgb_detector.RgbFaceDetector`. Tracking: the next crop is
placed from the previous result exactly as training places crops (centred on the 68
landmarks' centroid, ``extent_m`` wide, turned so the head is upright), so the detectors
run only when the track is lost: no result, or a result the pipeline rejected.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from inference.localize.depth import DepthLocalizer, DepthLocalizerConfig, crop_angle_of_pose
from inference.localize.types import Localization, Origin
from inference.rgb_detector import RgbFaceDetector
from models.crop import crop_from_point
from models.face_model import FaceModel
from models.face_result import FaceResult
from models.frame import Frame
from models.geometry import valid_depth_mask

log = logging.getLogger(__name__)

MIN_VALID_DEPTH_FRACTION = 0.002  # fewer valid depth pixels than this: treat the frame as colour only


@dataclass
class TrackerStats:
    """How often the face was detected from scratch, and how often it was tracked."""

    detections: int = 0
    tracked: int = 0
    lost: int = 0


class FaceTracker:
    """Gives the crop to process in each frame (see the module doc).

    Call :meth:`locate` before processing a frame and :meth:`update` with the frame's result
    (or None when no face was accepted) after it.
    """

    def __init__(self, model: FaceModel, extent_m: float = DepthLocalizerConfig.extent_m):
        self.extent_m = extent_m
        self.depth_localizer = DepthLocalizer.from_face_model(model, DepthLocalizerConfig(extent_m=extent_m))
        self._rgb_detector: RgbFaceDetector | None = None
        self._next: Localization | None = None
        self.stats = TrackerStats()

    @property
    def tracking(self) -> bool:
        return self._next is not None

    def reset(self) -> None:
        self._next = None

    def locate(self, frame: Frame, use_depth: bool = True) -> Localization | None:
        """The face's crop in ``frame``: tracked when possible, else detected (None: no face).

        ``use_depth``: whether depth may be used to detect (the colour-only mode of an RGB-D
        source still detects in depth, which is far more reliable; the network sees colour only).
        """
        if self._next is not None:
            self.stats.tracked += 1
            return self._next
        found = None
        depth = frame.depth
        if use_depth and depth is not None and valid_depth_mask(depth).mean() >= MIN_VALID_DEPTH_FRACTION:
            found = self.depth_localizer.locate(depth, frame.intrinsics)
        elif frame.rgb is not None:
            if self._rgb_detector is None:
                self._rgb_detector = RgbFaceDetector()
            detection = self._rgb_detector.detect(frame.rgb)
            if detection is not None:
                found = Localization(crop=detection.crop, origin=Origin.RGB)
        if found is not None:
            self.stats.detections += 1
        return found

    def update(self, result: FaceResult | None) -> None:
        """Place the next frame's crop from an accepted result; None loses the track."""
        if result is None or not result.found:
            if self._next is not None:
                self.stats.lost += 1
            self._next = None
            return
        centre = result.landmarks_3d.mean(axis=0).astype(np.float64)
        if not centre[2] > 0:
            self._next = None
            return
        angle = crop_angle_of_pose(result.intrinsics, result.rotation, centre)
        crop = crop_from_point(result.intrinsics, centre, self.extent_m, angle)
        self._next = Localization(crop=crop, origin=Origin.TRACK, centre_cam=centre, rotation=result.rotation)
