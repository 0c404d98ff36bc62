"""The eyes from MediaPipe's iris model: eyelid targets for the landmark fit, gaze from the iris.

* **Eyelids** (blink): the iris model's first 16 eye-contour points follow the eyelids far
  better than the 468-point mesh's own eye points (on our renders of closed eyes the mesh's
  lids stay half open). :func:`with_eyelids` puts them in place of the mesh's 16 eye-contour
  points of each eye, so the landmark fit's ``eyeBlink`` (and squint, wide) follow the lids.
* **Gaze**: the iris centre's ray from the camera meets the eyeball (a sphere about the model
  eyeball's centre, through the painted iris's front) at the iris; its direction from the
  centre, in the head frame, gives yaw and pitch (ARKit signs, see :mod:`models.face_model.eyes`).
"""

from __future__ import annotations

import numpy as np

from models.camera import Intrinsics
from models.face_model import FaceModel
from models.face_model.eyes import SCLERA_RANGES

# The 468-point mesh's eye contour, in the iris model's order for each eye (outer corner, the
# lower lid to the inner corner, then the upper lid back): rows the subject's left, right eye.
EYELID_MESH_INDICES = np.array([
    [263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398],
    [33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173],
])
NUM_EYELID = 16
MAX_GAZE_RAD = np.deg2rad(45.0)


def with_eyelids(points_2d: np.ndarray, eye_contour: np.ndarray | None) -> np.ndarray:
    """(468, 2) mesh points with each eye's 16 contour points taken from the iris model.

    eye_contour: (2, 71, 2) source pixels, rows the subject's left then right eye, or None
    (the points are returned as they are).
    """
    out = np.array(points_2d, dtype=np.float64, copy=True)[:, :2]
    if eye_contour is not None:
        for eye in range(2):
            out[EYELID_MESH_INDICES[eye]] = eye_contour[eye, :NUM_EYELID, :2]
    return out


class GazeEstimator:
    """Gaze angles from the iris centres, for a face model posed in the camera frame.

    Args:
        model: the face model (its eyeball vertices give each eye's centre and radius).
    """

    def __init__(self, model: FaceModel):
        # Each centre (the outer shell's mean) is linear in identity: template part + basis.
        self._centre = np.stack([model.template[a:b].astype(np.float64).mean(axis=0) for a, b in SCLERA_RANGES])
        self._centre_basis = np.stack([model.identity_basis[:, a:b].astype(np.float64).mean(axis=1)
                                       for a, b in SCLERA_RANGES])  # (2, 100, 3)
        # The radius to the iris front, of the mean eyeball (identity changes it by a few %).
        self._radii = np.array([model.template[a:b, 2].max() - self._centre[eye, 2]
                                for eye, (a, b) in enumerate(SCLERA_RANGES)], np.float64)

    def eyes(self, identity: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(2, 3) head-frame eyeball centres (metres) and (2,) radii to the iris front."""
        centres = self._centre
        if identity is not None:
            centres = centres + np.einsum("i,eid->ed", np.asarray(identity, np.float64),
                                          self._centre_basis[:, :len(identity)])
        return centres, self._radii

    def anchored(self, corners_mean: np.ndarray, corners_head: np.ndarray, corners_px: np.ndarray,
                 intrinsics: Intrinsics, rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
        """(2, 3) head-frame eyeball centres placed from the detected eye corners.

        Each eye's centre keeps the mean face's offset from its corners' midpoint
        (``corners_mean`` (2, 2, 3) head-frame metres, outer and inner corner per eye); that
        midpoint is the detected one (``corners_px`` (2, 2, 2) pixels) lifted to the depth of
        the fitted face's (``corners_head`` (2, 2, 3)). So the eyeball sits where the lids are
        seen, whatever the fitted identity makes of the eye's position (a millimetre there is
        about 5 degrees of gaze).
        """
        rotation = np.asarray(rotation, np.float64)
        translation = np.asarray(translation, np.float64)
        centres = np.empty((2, 3))
        for eye in range(2):
            offset = self._centre[eye] - corners_mean[eye].mean(axis=0)
            depth = (rotation @ corners_head[eye].mean(axis=0) + translation)[2]
            u, v = np.asarray(corners_px[eye], np.float64).mean(axis=0)
            seen = np.array([(u - intrinsics.cx) / intrinsics.fx, (v - intrinsics.cy) / intrinsics.fy, 1.0]) * depth
            centres[eye] = rotation.T @ (seen - translation) + offset
        return centres

    def __call__(self, iris_2d: np.ndarray, intrinsics: Intrinsics, rotation: np.ndarray,
                 translation: np.ndarray, identity: np.ndarray | None,
                 centres: np.ndarray | None = None) -> np.ndarray:
        """(2, 2) float32 gaze (rows left, right; yaw, pitch in radians) of the iris centres.

        iris_2d: (2, 5, 2) source pixels (rows the subject's left then right eye; the first
        point the iris centre); rotation, translation: the head pose (camera from head, metres);
        centres: (2, 3) head-frame eyeball centres (:meth:`anchored`), else the identity's.
        """
        rotation = np.asarray(rotation, np.float64)
        own, radii = self.eyes(identity)
        centres = own if centres is None else centres
        gaze = np.zeros((2, 2), np.float32)
        for eye in range(2):
            u, v = np.asarray(iris_2d[eye, 0], np.float64)
            ray = np.array([(u - intrinsics.cx) / intrinsics.fx, (v - intrinsics.cy) / intrinsics.fy, 1.0])
            ray = rotation.T @ (ray / np.linalg.norm(ray))  # head frame
            origin = rotation.T @ (-np.asarray(translation, np.float64))  # the camera, head frame
            # nearest intersection of origin + s ray with the sphere (centre, radius), else the
            # ray's closest point to the centre
            to_centre = centres[eye] - origin
            along = float(to_centre @ ray)
            closest_sq = float(to_centre @ to_centre) - along * along
            inside = radii[eye] ** 2 - closest_sq
            s = along - np.sqrt(inside) if inside > 0 else along
            direction = origin + s * ray - centres[eye]
            yaw = np.arctan2(direction[0], direction[2])
            pitch = np.arctan2(-direction[1], np.hypot(direction[0], direction[2]))
            gaze[eye] = np.clip([yaw, pitch], -MAX_GAZE_RAD, MAX_GAZE_RAD)
        return gaze


def eye_opening(eye_contour: np.ndarray) -> np.ndarray:
    """(2,) each eye's opening: the mean distance between the upper and lower lid points
    (the iris model's contour points 9-15 and 1-7, outer to inner) over the corners' distance."""
    lids = np.asarray(eye_contour, np.float64)[:, :NUM_EYELID, :2]
    width = np.linalg.norm(lids[:, 0] - lids[:, 8], axis=1)
    gap = np.linalg.norm(lids[:, 9:16] - lids[:, 1:8], axis=2).mean(axis=1)
    return gap / np.maximum(width, 1e-6)


class BlinkEstimator:
    """Blink (0 open, 1 closed) of each eye from its opening, against the take's open eye.

    The open eye's opening is the median over the last ``window`` frames (blinks are brief, so
    the median is the open eye's); an opening of ``closed_fraction`` times it or less is a
    closed eye (the iris model's lids meet at about 0.45 of their open distance on our renders).
    """

    def __init__(self, window: int = 90, closed_fraction: float = 0.45):
        self.window = window
        self.closed_fraction = closed_fraction
        self._history: list[np.ndarray] = []

    def reset(self) -> None:
        self._history.clear()

    def __call__(self, eye_contour: np.ndarray) -> np.ndarray:
        """(2,) float32 blink of the (2, 71, 2) eye contour (rows left, right eye)."""
        opening = eye_opening(eye_contour)
        self._history = (self._history + [opening])[-self.window:]
        reference = np.median(np.stack(self._history), axis=0)
        closure = (1.0 - opening / np.maximum(reference, 1e-6)) / (1.0 - self.closed_fraction)
        return np.clip(closure, 0.0, 1.0).astype(np.float32)
