"""What localization hands the pipeline: a crop and where it came from."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from inference.localize.mesh import MeshFace
from models.crop import FaceCrop

__all__ = ["Localization", "Origin"]


class Origin(enum.Enum):
    """How a crop was found."""

    DEPTH = "depth"  # detected in the depth map (segmentation + rigid face fit)
    RGB = "rgb"  # detected in the colour image by the face detector (and its landmarks)
    TRACK = "track"  # predicted from the previous frame's result


@dataclass(frozen=True, eq=False)
class Localization:
    """A face located in one frame.

    Attributes:
        crop: the square crop to feed the network (source pixels, angle in radians).
        origin: detection (depth or colour) or tracking.
        score: confidence in [0, 1] (depth: fraction of the mean face explained by the depth;
            colour: the detector's score squashed to [0, 1]; tracking: the caller's confidence
            of the previous result, or 1).
        centre_cam: (3,) float64 metres, camera frame: the 3D point the crop is centred on (the
            68 landmarks' centroid) when depth gave it, else None.
        rotation: (3, 3) float64 camera-from-head rotation of the rigid fit (depth detection),
            else None. A rough pose: a starting point, not a result.
        mesh: the colour localizer's face in this frame (MediaPipe's 468 landmarks, face score,
            iris and eye contours, source pixels; see :class:`MeshFace`), where the frame has
            colour and it found one; else None.
    """

    crop: FaceCrop
    origin: Origin
    score: float = 1.0
    centre_cam: np.ndarray | None = None
    rotation: np.ndarray | None = None
    mesh: MeshFace | None = None
