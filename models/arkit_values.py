"""The per-frame Live Link values shared by every ARKit consumer.

The Live Link Face CSV export, the Live Link Face and VMC streams and the glTF rig all carry
the same numbers for a frame: the 52 ARKit blendshape curves (mapped from the face model's 53
ICT expressions by :attr:`FaceModel.arkit_matrix`: ``browInnerUp`` and ``cheekPuff`` are the
mean of their halves, ``tongueOut`` is 0), then nine angles in radians: the head's yaw, pitch
and roll (:func:`models.geometry.camera_rotation_to_euler`, ARKit's face frame) and each eye's
yaw, pitch and roll (from :attr:`FaceResult.gaze`; 0 where gaze is not estimated; eye roll is
always 0). This module computes them once so that a streamed frame equals its CSV row.

Signs (ARKit's): yaw > 0 turns toward the subject's own left, pitch > 0 looks down, roll > 0
tilts toward the subject's right shoulder.
"""

from __future__ import annotations

import numpy as np

from models.face_model.arkit import ARKIT_NAMES, capitalized
from models.face_result import FaceResult
from models.geometry import camera_rotation_to_euler

ANGLE_NAMES: tuple[str, ...] = (
    "HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
    "RightEyeYaw", "RightEyePitch", "RightEyeRoll",
)
CURVE_NAMES: tuple[str, ...] = tuple(capitalized(name) for name in ARKIT_NAMES)
VALUE_NAMES: tuple[str, ...] = (*CURVE_NAMES, *ANGLE_NAMES)
CURVE_COUNT = len(CURVE_NAMES)  # 52
VALUE_COUNT = len(VALUE_NAMES)  # 61


def arkit_values(result: FaceResult | None, arkit_matrix: np.ndarray) -> np.ndarray:
    """(61,) float64: the 52 curves then the nine angles (radians) of ``result``.

    Args:
        result: a result with a face (its held face for a frame where none was found); None
            gives the neutral frame (all 0).
        arkit_matrix: (52, 53) :attr:`FaceModel.arkit_matrix`.
    """
    values = np.zeros(VALUE_COUNT)
    if result is None:
        return values
    if result.expression is not None:
        values[:CURVE_COUNT] = np.asarray(arkit_matrix, np.float64) @ np.asarray(result.expression, np.float64)
    if result.rotation is not None:
        values[CURVE_COUNT:CURVE_COUNT + 3] = camera_rotation_to_euler(result.rotation)
    if result.gaze is not None:
        gaze = np.asarray(result.gaze, np.float64)
        values[CURVE_COUNT + 3:CURVE_COUNT + 5] = gaze[0]
        values[CURVE_COUNT + 6:CURVE_COUNT + 8] = gaze[1]
    return values
