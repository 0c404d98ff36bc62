"""MediaPipe's iris landmark model on LiteRT: eye contour and iris from a 64x64 eye crop.

Input: a square crop around one eye (2.3 times the eye-corner distance, turned so the corners
are level, see :func:`eye_boxes`), 64x64, RGB in [0, 1]. The model is trained on the eye on
the image's left of an upright face (the subject's right eye); the other eye is flipped
horizontally before and after (``flip=True``). Output, in the crop's pixels: 71 eye-contour
and brow points (the first 16 the eyelid contour, MediaPipe's order) and 5 iris points (the
centre, then four on the iris edge), each (x, y, z), z relative depth in pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runtime.mediapipe.files import load_model, square_crop_input

__all__ = ["EYE_CORNERS", "IRIS_INPUT_SIZE", "IrisLandmarker", "IrisResult", "eye_boxes"]

IRIS_INPUT_SIZE = 64
NUM_CONTOUR = 71
NUM_IRIS = 5
# (corner, corner, flip) of the image-left and image-right eye of an upright face, in the
# 468-point mesh: outer/inner corner of the subject's right eye, inner/outer of the left.
EYE_CORNERS = ((33, 133, False), (362, 263, True))
EYE_SCALE = 2.3


@dataclass(frozen=True, eq=False)
class IrisResult:
    """The iris model's answer on one eye crop.

    Attributes:
        contour: (71, 3) float32 eye contour and brow, crop pixels (pixel centres at integers).
        iris: (5, 3) float32: iris centre then four edge points, crop pixels.
    """

    contour: np.ndarray
    iris: np.ndarray


def eye_boxes(points_2d: np.ndarray, scale: float = EYE_SCALE) -> list[tuple[np.ndarray, float, float, bool]]:
    """The two eye crops MediaPipe feeds the iris model, from 468 face points.

    Args:
        points_2d: (468, 2) image pixels.

    Returns:
        ``[(centre (2,), side, angle, flip)]`` for the image-left then the image-right eye of
        an upright face (the subject's right, then left eye): the corners' midpoint, ``scale``
        times their distance, the corner line's direction (radians; a
        :class:`models.crop.FaceCrop` angle), and whether to pass ``flip=True``.
    """
    p = np.asarray(points_2d, np.float64)[:, :2]
    boxes = []
    for a, b, flip in EYE_CORNERS:
        d = p[b] - p[a]
        boxes.append(((p[a] + p[b]) / 2, float(scale * np.hypot(d[0], d[1])), float(np.arctan2(d[1], d[0])), flip))
    return boxes


class IrisLandmarker:
    """Eye contour and iris on an eye crop.

    >>> iris = IrisLandmarker()
    >>> result = iris.run(eye_crop, flip=False)   # (64, 64, 3) uint8 RGB

    Args:
        directory: model folder (default: the installed wheel's); threads: LiteRT threads.
    """

    name = "mediapipe-iris-landmark"

    def __init__(self, directory: Path | str | None = None, threads: int = 2):
        self.model = load_model("iris_landmark.tflite", directory, threads)
        self.input_size = int(self.model.input_shape[1])
        names = self.model.output_names
        self._contour_out = next(n for n in names if "contour" in n)
        self._iris_out = next(n for n in names if "iris" in n)

    def run(self, crop: np.ndarray, flip: bool = False) -> IrisResult:
        """Contour and iris for one eye crop.

        Args:
            crop: (S, S, 3) uint8 RGB (resized to 64 when S differs).
            flip: mirror the crop for the model and the points back (the image-right eye).
        """
        tensor, k = square_crop_input(crop, self.input_size, "eye")
        out = self.model.run(tensor[:, ::-1] if flip else tensor)
        result = []
        for name, count in ((self._contour_out, NUM_CONTOUR), (self._iris_out, NUM_IRIS)):
            p = out[name].reshape(count, 3).astype(np.float64)
            if flip:
                p[:, 0] = self.input_size - p[:, 0]
            p[:, :2] = p[:, :2] * k - 0.5
            p[:, 2] *= k
            result.append(p.astype(np.float32))
        return IrisResult(contour=result[0], iris=result[1])
