"""MediaPipe's 468-point face landmark model (face mesh) on LiteRT.

Input: a square crop of the face, upright, about 1.5 times the face box (MediaPipe's ROI:
the detection box or the previous frame's landmark box, scaled 1.5, square, turned so the
eyes are level), resized to 192x192, RGB scaled to [0, 1]. Output: 468 points (x, y, z) in
the crop's pixels (z: depth relative to the face centre, same scale as x; smaller is nearer
the camera) and a face score (sigmoid of the second output): near 1 on a face, low when the
crop holds none (MediaPipe re-detects below 0.5).

The points follow MediaPipe's canonical face mesh (``canonical_face_model.obj``); a few
indices used here: 33 / 133 the outer / inner corner of the eye on the image's left for an
upright face (the subject's right eye), 362 / 263 the inner / outer corner of the other eye,
1 the nose tip, 13 / 14 the inner lips, 152 the chin.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runtime.mediapipe.files import load_model, square_crop_input

__all__ = ["LANDMARK_INPUT_SIZE", "NUM_POINTS", "FaceLandmarker", "LandmarkResult", "landmark_box"]

NUM_POINTS = 468
LANDMARK_INPUT_SIZE = 192
# Eye corners that set the crop's roll (image-left eye outer corner, image-right eye outer corner).
ROLL_POINTS = (33, 263)
ROI_SCALE = 1.5


@dataclass(frozen=True, eq=False)
class LandmarkResult:
    """The landmark model's answer on one crop.

    Attributes:
        points: (468, 3) float32 in the input crop's pixels (pixel centres at integers; x
            right, y down; z relative depth in the same pixel scale).
        score: face score in [0, 1] (sigmoid of the model's face logit).
    """

    points: np.ndarray
    score: float


def landmark_box(points_2d: np.ndarray, scale: float = ROI_SCALE,
                 corners: tuple[int, int] = ROLL_POINTS) -> tuple[np.ndarray, float, float]:
    """MediaPipe's next-frame ROI from 468 points: ``(centre (2,), side, angle)``.

    The angle (radians) is the direction from point ``corners[0]`` to ``corners[1]`` (the outer
    eye corners, 33 and 263 of the 468: 0 for an upright face, the :class:`models.crop.FaceCrop`
    angle that shows it upright); the side is ``scale`` times the longer side of the points'
    box in that turned frame, centred on the box.

    Args:
        points_2d: (N, 2) image pixels (the 468 points, or any set with ``corners`` in it).
    """
    p = np.asarray(points_2d, np.float64)[:, :2]
    d = p[corners[1]] - p[corners[0]]
    angle = float(np.arctan2(d[1], d[0]))
    c, s = np.cos(angle), np.sin(angle)
    axes = np.array([[c, s], [-s, c]])  # rows: the crop's x and y axes in the image
    local = p @ axes.T
    lo, hi = local.min(axis=0), local.max(axis=0)
    centre = ((lo + hi) / 2) @ axes
    return centre, float(scale * (hi - lo).max()), angle


class FaceLandmarker:
    """468 face points on a face crop.

    >>> landmarker = FaceLandmarker()
    >>> result = landmarker.run(crop)          # crop: (192, 192, 3) uint8 RGB, upright face

    Args:
        directory: model folder (default: the installed wheel's); threads: LiteRT threads.
    """

    name = "mediapipe-face-landmark"

    def __init__(self, directory: Path | str | None = None, threads: int = 2):
        self.model = load_model("face_landmark.tflite", directory, threads)
        self.input_size = int(self.model.input_shape[1])
        shapes = self.model.output_shapes  # by size: 1404 values are the points, 1 the face logit
        self._points_out = next(n for n, s in shapes.items() if int(np.prod(s)) == NUM_POINTS * 3)
        self._score_out = next(n for n, s in shapes.items() if int(np.prod(s)) == 1)

    def run(self, crop: np.ndarray) -> LandmarkResult:
        """Points and face score for one square crop.

        Args:
            crop: (S, S, 3) uint8 RGB, the face upright and about 1/1.5 of the side
                (resized to 192 when S differs; points come back in the crop's own pixels).
        """
        tensor, k = square_crop_input(crop, self.input_size, "landmark")
        out = self.model.run(tensor)
        points = out[self._points_out].reshape(NUM_POINTS, 3).astype(np.float64)
        # Continuous input pixels -> the caller's crop, pixel centres at integers.
        points[:, :2] = points[:, :2] * k - 0.5
        points[:, 2] *= k
        logit = float(np.clip(out[self._score_out].reshape(-1)[0], -100.0, 100.0))
        return LandmarkResult(points=points.astype(np.float32), score=1.0 / (1.0 + np.exp(-logit)))
