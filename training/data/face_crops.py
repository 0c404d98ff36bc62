"""Where to crop a face in a real frame: from 68 landmarks, from depth alone, or the whole image.

Training's synthetic crops are ``models.crop.crop_from_point`` around the face centre (the
centroid of the 68 landmarks of the posed mesh), spanning ``CropRecipe.metric_extent_m`` at its
depth, turned so the face is upright. Real frames get the same crop from what they offer:

* **Landmarks** (:func:`landmark_crop`): the centre is the 2D landmark centroid; the angle puts
  the eyes above the mouth (``models.crop.angle_from_up``); the size is the metric extent at
  the face centre's depth when there is depth (the median depth around the centre, which lies
  on the nose, plus :attr:`FaceShape.centre_behind_nose_m`), else it is scaled from the
  landmarks' spread along and across the face's up axis against the mean face's (the larger of
  the two ratios, so a turned or nodding face is not cropped too tight).
* **Depth only** (:func:`nearest_blob_crop`), the documented rule for RGB-D frames without
  landmarks: the face is the nearest blob. Take the nearest valid depth (0.5th percentile),
  keep the valid pixels less than ``band_m`` (0.10 m) behind it, take the largest
  8-connected component; its pixel centroid is the crop centre, at the nearest depth plus
  :attr:`FaceShape.centre_behind_nose_m`. The angle is given (the face's roll is unknown).
* **Nothing** (:func:`centre_square_crop`): the image's centred square, for folders of
  already-cropped face images.

Pixels are source-image pixels (centres at integers); depth in metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from models.camera import Intrinsics
from models.crop import FaceCrop, angle_from_up, crop_from_point
from models.face_model import FaceModel

__all__ = ["FaceShape", "centre_square_crop", "landmark_crop", "nearest_blob_crop"]

_EYES = slice(36, 48)
_MOUTH = slice(48, 68)
_NOSE_TIP = 30


@dataclass(frozen=True)
class FaceShape:
    """What the mean face says about its 68 landmarks (metres, head frame: y up, z out).

    up_spread_m, across_spread_m: standard deviation of the landmarks along the head's y (up)
    and x axes; nose_to_centre_m: (x, y, z) from the nose tip (landmark 30) to the landmark
    centroid, the face centre crops are placed on (about (0, -0.007, -0.036)).
    """

    up_spread_m: float
    across_spread_m: float
    nose_to_centre_m: tuple[float, float, float]

    @property
    def centre_behind_nose_m(self) -> float:
        """How far (metres) the face centre lies behind the nose tip."""
        return -self.nose_to_centre_m[2]

    @classmethod
    def from_face_model(cls, model: FaceModel) -> FaceShape:
        points = model.template[model.landmark_indices].astype(np.float64)
        offset = points.mean(axis=0) - points[_NOSE_TIP]
        return cls(float(points[:, 1].std()), float(points[:, 0].std()), tuple(float(v) for v in offset))


def _median_depth(depth: np.ndarray, u: float, v: float, half: int) -> float | None:
    h, w = depth.shape
    x0, x1 = max(0, round(u) - half), min(w, round(u) + half + 1)
    y0, y1 = max(0, round(v) - half), min(h, round(v) + half + 1)
    patch = depth[y0:y1, x0:x1]
    z = patch[np.isfinite(patch) & (patch > 0)]
    return float(np.median(z)) if z.size else None


def _ray(intrinsics: Intrinsics, u: float, v: float) -> np.ndarray:
    return np.array([(u - intrinsics.cx) / intrinsics.fx, (v - intrinsics.cy) / intrinsics.fy, 1.0])


def landmark_crop(landmarks: np.ndarray, intrinsics: Intrinsics, extent_m: float, shape: FaceShape,
                  depth: np.ndarray | None = None) -> FaceCrop:
    """The crop of a face with (68, 2) landmarks in source pixels (see the module doc).

    ``depth``: optional (H, W) metres on the same grid; used for the size when the centre's
    neighbourhood (a square of a tenth of the landmarks' extent) holds valid depth.
    """
    points = np.asarray(landmarks, dtype=np.float64).reshape(68, 2)
    u, v = points.mean(axis=0)
    up = points[_EYES].mean(axis=0) - points[_MOUTH].mean(axis=0)
    if not np.linalg.norm(up) > 0:
        up = np.array([0.0, -1.0])
    angle = angle_from_up(up, intrinsics)
    if depth is not None:
        half = max(2, round(0.05 * float(np.ptp(points, axis=0).max())))
        z = _median_depth(depth, u, v, half)
        if z is not None:
            centre = _ray(intrinsics, u, v) * (z + shape.centre_behind_nose_m)
            return crop_from_point(intrinsics, centre, extent_m, angle)
    axis_up = up / np.linalg.norm(up)
    axis_across = np.array([-axis_up[1], axis_up[0]])
    relative = points - (u, v)
    pixels_per_m = max(float((relative @ axis_up).std()) / shape.up_spread_m,
                       float((relative @ axis_across).std()) / shape.across_spread_m)
    return FaceCrop(float(u), float(v), extent_m * pixels_per_m, angle)


def nearest_blob_crop(depth: np.ndarray, intrinsics: Intrinsics, extent_m: float, shape: FaceShape,
                      angle: float = 0.0, band_m: float = 0.10, min_pixels: int = 20) -> FaceCrop | None:
    """The crop around the nearest depth blob (the rule in the module doc), or None when the
    frame has fewer than ``min_pixels`` valid pixels in the blob.

    depth: (H, W) metres on the ``intrinsics`` grid, 0 or NaN invalid; angle: radians.
    """
    depth = np.asarray(depth, dtype=np.float32)
    valid = np.isfinite(depth) & (depth > 0)
    if np.count_nonzero(valid) < min_pixels:
        return None
    nearest = float(np.percentile(depth[valid], 0.5))
    band = (valid & (depth <= nearest + band_m)).astype(np.uint8)
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(band, connectivity=8)
    if count < 2:
        return None
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    if stats[best, cv2.CC_STAT_AREA] < min_pixels:
        return None
    u, v = (float(c) for c in centroids[best])
    centre = _ray(intrinsics, u, v) * (nearest + shape.centre_behind_nose_m)
    return crop_from_point(intrinsics, centre, extent_m, angle)


def centre_square_crop(width: int, height: int) -> FaceCrop:
    """The largest centred square of a ``width`` x ``height`` image, upright."""
    return FaceCrop((width - 1) / 2.0, (height - 1) / 2.0, float(min(width, height)), 0.0)
