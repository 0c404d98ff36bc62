"""Face localization and tracking: where to crop each frame for the network.

Public API (see each module's doc):

* :class:`FaceTracker` (``tracker``): one per stream; ``crop_for(frame, mode)`` once per frame,
  then ``update(landmarks_2d, rotation=, translation=, confidence=)`` with the frame's result.
* :class:`DepthLocalizer` (``depth``): finds the face in a depth map (depth and RGB-D modes).
* :class:`RgbLocalizer` (``rgb``): finds the face in a colour image at any quarter turn, with
  dlib's HOG detector (:class:`DlibHogDetector`) or any :class:`FaceDetector`.
* :class:`Localization` (``types``): a :class:`models.crop.FaceCrop` and where it came from.

``make_tracker(face_model)`` builds the usual tracker. The detector comparison, accuracy and
timings are in ``inference/localize/README.md``; ``python -m benchmarks.localize`` measures.
"""

from __future__ import annotations

from inference.localize.depth import DepthLocalizer, DepthLocalizerConfig, crop_angle_of_pose
from inference.localize.face_fit import FaceTemplate
from inference.localize.rgb import Detection, DlibHogDetector, FaceDetector, RgbLocalizer, RgbLocalizerConfig
from inference.localize.tracker import FaceTracker, TrackerConfig, TrackerStats, crop_from_landmarks
from inference.localize.types import Localization, Origin
from models.face_model import FaceModel

__all__ = [
    "Detection",
    "DepthLocalizer",
    "DepthLocalizerConfig",
    "DlibHogDetector",
    "FaceDetector",
    "FaceTemplate",
    "FaceTracker",
    "Localization",
    "Origin",
    "RgbLocalizer",
    "RgbLocalizerConfig",
    "TrackerConfig",
    "TrackerStats",
    "crop_angle_of_pose",
    "crop_from_landmarks",
    "make_tracker",
]


def make_tracker(face_model: FaceModel, extent_m: float = 0.26, rgb: bool = True) -> FaceTracker:
    """A tracker with depth detection (the face model's mean face) and, when ``rgb``, dlib's
    colour detector; crops ``extent_m`` wide (the crop recipe's ``metric_extent_m``)."""
    template = FaceTemplate.from_face_model(face_model)
    depth = DepthLocalizer(template, DepthLocalizerConfig(extent_m=extent_m))
    centre = tuple(float(v) for v in template.centre)
    return FaceTracker(depth=depth, rgb=RgbLocalizer() if rgb else None,
                       config=TrackerConfig(extent_m=extent_m, face_centre=centre))
