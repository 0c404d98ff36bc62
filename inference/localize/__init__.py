"""Face localization and tracking: where to crop each frame for the network.

Public API (see each module's doc):

* :class:`FaceTracker` (``tracker``): one per stream; ``crop_for(frame, mode)`` once per frame,
  then ``update(landmarks_2d, rotation=, translation=, confidence=)`` with the frame's result.
* :class:`DepthLocalizer` (``depth``): finds the face in a depth map (depth and RGB-D modes).
* :class:`MeshLocalizer` (``mesh``): finds and follows the face in colour at any roll, with
  MediaPipe's detector and 468-point landmarks (:class:`MeshFace`: points, score, iris).
* :class:`Localization` (``types``): a :class:`models.crop.FaceCrop`, where it came from, and
  the colour localizer's :class:`MeshFace`.

``make_tracker(face_model)`` builds the usual tracker. The detector comparison, accuracy and
timings are in ``inference/localize/README.md``; ``python -m benchmarks.localize`` measures.
"""

from __future__ import annotations

from inference.localize.depth import DepthLocalizer, DepthLocalizerConfig, crop_angle_of_pose
from inference.localize.face_fit import FaceTemplate
from inference.localize.mesh import MESH_TO_MULTIPIE, MeshConfig, MeshFace, MeshLocalizer, multipie_from_mesh
from inference.localize.tracker import (
    FaceTracker,
    TrackerConfig,
    TrackerStats,
    crop_from_landmarks,
    crop_from_mesh,
)
from inference.localize.types import Localization, Origin
from models.face_model import FaceModel

__all__ = [
    "MESH_TO_MULTIPIE",
    "DepthLocalizer",
    "DepthLocalizerConfig",
    "FaceTemplate",
    "FaceTracker",
    "Localization",
    "MeshConfig",
    "MeshFace",
    "MeshLocalizer",
    "Origin",
    "TrackerConfig",
    "TrackerStats",
    "crop_angle_of_pose",
    "crop_from_landmarks",
    "crop_from_mesh",
    "make_tracker",
    "multipie_from_mesh",
]


def make_tracker(face_model: FaceModel, extent_m: float = 0.26, rgb: bool = True) -> FaceTracker:
    """A tracker with depth detection (the face model's mean face) and, when ``rgb``, the
    colour localizer (MediaPipe's models); crops ``extent_m`` wide (the crop recipe's
    ``metric_extent_m``)."""
    template = FaceTemplate.from_face_model(face_model)
    depth = DepthLocalizer(template, DepthLocalizerConfig(extent_m=extent_m))
    centre = tuple(float(v) for v in template.centre)
    return FaceTracker(depth=depth, mesh=MeshLocalizer() if rgb else None,
                       config=TrackerConfig(extent_m=extent_m, face_centre=centre))
