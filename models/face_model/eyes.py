"""The eyes of the face model: eyeball vertices, gaze angles and the ARKit eye curves.

ICT-FaceKit's ``eyeLook*`` expressions move only the eyelids; its eyeballs (the full model's
vertices ``21451:24591``, each eye an outer and an inner shell) never turn. Here a gaze turns
them rigidly about each eyeball's centre, and one fixed convention links the gaze angles to the
``eyeLook*`` weights, both ways, so that every consumer (the curves, the CSV's eye angles, the
JSONL ``gaze`` key, the viewport's eyeballs) carries the same eye state:

    yaw   = LOOK_YAW_RAD  * (eyeLookOut_L - eyeLookIn_L)       left eye (the subject's)
    yaw   = LOOK_YAW_RAD  * (eyeLookIn_R - eyeLookOut_R)       right eye
    pitch = LOOK_DOWN_RAD * eyeLookDown_X - LOOK_UP_RAD * eyeLookUp_X

Angles are radians in the head frame with ARKit's signs: yaw > 0 toward the subject's left
(+x of the head frame), pitch > 0 down (-y). Arrays of eyes are ordered left then right (the
subject's own).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Vertex ranges of the full model: the subject's left eyeball (+x), then the right one.
EYEBALL_RANGES: tuple[tuple[int, int], tuple[int, int]] = ((21451, 23021), (23021, 24591))
# The outer (sclera) shell of each eyeball, whose centre is the eye's centre of rotation.
SCLERA_RANGES: tuple[tuple[int, int], tuple[int, int]] = ((21451, 22221), (23021, 23791))
# Gaze angle (radians) of a unit eyeLook weight: ARKit's eyeLook curves reach 1 near these.
LOOK_YAW_RAD = np.deg2rad(30.0)
LOOK_UP_RAD = np.deg2rad(25.0)
LOOK_DOWN_RAD = np.deg2rad(30.0)
SIDES = ("L", "R")


class EyeCurves:
    """Indices of the eye expressions of a model's expression list, and the conversions.

    Args:
        expression_names: the model's 53 expression names (``eyeBlink_L``, ...).
    """

    def __init__(self, expression_names: Sequence[str]):
        names = list(expression_names)

        def index(stem: str) -> np.ndarray:
            return np.array([names.index(f"{stem}_{side}") for side in SIDES])

        self.blink = index("eyeBlink")
        self.look_in = index("eyeLookIn")
        self.look_out = index("eyeLookOut")
        self.look_up = index("eyeLookUp")
        self.look_down = index("eyeLookDown")
        self.look = np.concatenate([self.look_in, self.look_out, self.look_up, self.look_down])

    def gaze(self, expression: np.ndarray) -> np.ndarray:
        """(2, 2) float32 gaze (rows left, right; columns yaw, pitch) of a (53,) expression."""
        e = np.asarray(expression, np.float64)
        horizontal = e[self.look_out] - e[self.look_in]  # toward the eye's own side
        yaw = LOOK_YAW_RAD * horizontal * np.array([1.0, -1.0])
        pitch = LOOK_DOWN_RAD * e[self.look_down] - LOOK_UP_RAD * e[self.look_up]
        return np.stack([yaw, pitch], axis=1).astype(np.float32)

    def blink_of(self, expression: np.ndarray) -> np.ndarray:
        """(2,) float32 blink (left, right) of a (53,) expression."""
        return np.clip(np.asarray(expression, np.float32)[self.blink], 0.0, 1.0)

    def with_eyes(self, expression: np.ndarray, gaze: np.ndarray | None = None,
                  blink: np.ndarray | None = None) -> np.ndarray:
        """A copy of the (53,) ``expression`` whose eye curves carry ``gaze`` and ``blink``.

        gaze: (2, 2) radians as :meth:`gaze` returns (None leaves the eyeLook weights);
        blink: (2,) in [0, 1] (None leaves the eyeBlink weights). Weights are clipped to [0, 1].
        """
        out = np.array(expression, dtype=np.float32, copy=True)
        if gaze is not None:
            gaze = np.asarray(gaze, np.float64)
            horizontal = gaze[:, 0] * np.array([1.0, -1.0]) / LOOK_YAW_RAD
            out[self.look_out] = np.clip(horizontal, 0.0, 1.0)
            out[self.look_in] = np.clip(-horizontal, 0.0, 1.0)
            out[self.look_down] = np.clip(gaze[:, 1] / LOOK_DOWN_RAD, 0.0, 1.0)
            out[self.look_up] = np.clip(-gaze[:, 1] / LOOK_UP_RAD, 0.0, 1.0)
        if blink is not None:
            out[self.blink] = np.clip(np.asarray(blink, np.float32), 0.0, 1.0)
        return out


def gaze_rotation(yaw: float, pitch: float) -> np.ndarray:
    """(3, 3) head-frame rotation turning an eye's forward axis (+z) to the gaze (yaw, pitch)."""
    cy, sy, cp, sp = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)
    about_y = np.array([[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]])
    about_x = np.array([[1.0, 0.0, 0.0], [0.0, cp, -sp], [0.0, sp, cp]])
    return about_y @ about_x


def eyeball_triangles(triangles: np.ndarray) -> np.ndarray:
    """(T, 3) int32 triangles of both eyeballs, indices into :func:`posed_eyeballs`' rows."""
    start, stop = EYEBALL_RANGES[0][0], EYEBALL_RANGES[1][1]
    inside = np.all((triangles >= start) & (triangles < stop), axis=1)
    return np.ascontiguousarray(triangles[inside] - start).astype(np.int32)


def eyeball_centres(eyeballs: np.ndarray) -> np.ndarray:
    """(2, 3) the two eyeballs' centres of rotation, from (3140, 3) head-frame eyeball vertices."""
    base = EYEBALL_RANGES[0][0]
    return np.stack([eyeballs[a - base:b - base].mean(axis=0) for a, b in SCLERA_RANGES])


def posed_eyeballs(eyeballs: np.ndarray, gaze: np.ndarray | None) -> np.ndarray:
    """The (3140, 3) head-frame eyeball vertices (left eye, then right) turned to ``gaze``.

    eyeballs: the model's vertices ``21451:24591`` at the face's identity (looking ahead);
    gaze: (2, 2) radians (rows left, right; columns yaw, pitch) or None (returned unchanged).
    """
    out = np.array(eyeballs, dtype=np.float32, copy=True)
    if gaze is None:
        return out
    base = EYEBALL_RANGES[0][0]
    centres = eyeball_centres(eyeballs)
    for eye, (start, stop) in enumerate(EYEBALL_RANGES):
        rotation = gaze_rotation(float(gaze[eye][0]), float(gaze[eye][1])).astype(np.float32)
        part = out[start - base:stop - base]
        out[start - base:stop - base] = (part - centres[eye]) @ rotation.T + centres[eye]
    return out
