"""The colour localizer: MediaPipe's face detector, then tracking by its 468 landmarks.

Per frame (:meth:`MeshLocalizer.locate`):

* **Tracking** (a face was found last frame): the landmark model runs on the crop that the
  previous frame's 468 points give (their box in the eyes' frame, 1.5 times, turned with the
  eyes: MediaPipe's own ROI rule, no detector). Its face score is the check: at or above
  ``min_face_score`` (and with a box within 1.5 times the last one's size, its centre in the
  image) the face is kept; below it (a cut, the face left, another photo) the
  track is dropped and the same frame is detected afresh, so no face is carried across a cut.
* **Detection**: BlazeFace short range (faces within ~2 m) and full range (smaller, farther
  faces) on the image turned by a quarter turn (the depth orientation or the tracked angle
  first when given, else upright, then the other turns until a face is found); their boxes
  merged; each candidate checked by the landmark model (face score) on the crop its eye
  keypoints give, and refined by one pass on its own landmark box. The largest face wins.
* **Eyes**: the iris model on both eye crops (from the eye corners), when ``iris`` is set.

:func:`multipie_from_mesh` picks the 68 Multi-PIE landmarks' counterparts among the 468
points; :func:`crop_from_mesh` places the network's crop from them as training does (through
:func:`inference.localize.tracker.crop_from_landmarks`, calibrated on the same 0.26 m crops).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inference.localize.orientation import angle_of_turns, to_source, turns_of_angle
from models.camera import Intrinsics
from models.crop import FaceCrop, crop_camera, warp_rgb
from runtime.mediapipe import BlazeFaceDetector, FaceLandmarker, IrisLandmarker
from runtime.mediapipe.iris import eye_boxes
from runtime.mediapipe.landmarks import landmark_box

__all__ = ["MESH_TO_MULTIPIE", "MeshConfig", "MeshFace", "MeshLocalizer", "MeshStats", "multipie_from_mesh"]

log = logging.getLogger(__name__)

# The 468-point mesh index at (or nearest to) each of the 68 Multi-PIE landmarks: jaw (17),
# brows (10), nose (9), eyes (12), mouth (20). The jaw line of the 68 is a silhouette and moves
# over the surface with yaw; the mesh's points stay on the surface (good enough for a crop).
MESH_TO_MULTIPIE = np.array([
    162, 234, 93, 58, 172, 136, 149, 148, 152, 377, 378, 365, 397, 288, 323, 454, 389,
    70, 63, 105, 66, 107, 336, 296, 334, 293, 300,
    168, 197, 5, 4, 75, 97, 2, 326, 305,
    33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181, 78, 82, 13, 312, 308, 317, 14, 87,
])


def multipie_from_mesh(points: np.ndarray) -> np.ndarray:
    """(468, 2+) mesh points -> (68, 2) float64 Multi-PIE-ordered counterparts (same pixels)."""
    return np.asarray(points, np.float64)[MESH_TO_MULTIPIE, :2]


@dataclass(frozen=True, eq=False)
class MeshFace:
    """A face's 468 landmarks in one frame (source pixels, pixel centres at integers).

    Attributes:
        points: (468, 3) float32: x, y source pixels; z relative depth (source-pixel scale,
            smaller nearer the camera), MediaPipe's canonical mesh order.
        score: the landmark model's face score in [0, 1].
        origin: ``detect`` (found by the detector this frame) or ``track``.
        iris: (2, 5, 2) float32 source pixels, rows the subject's left then right eye, each
            the iris centre then four edge points; None when not run.
        eye_contour: (2, 71, 2) float32 source pixels, same rows: the iris model's eye contour
            and brow points (the first 16 the eyelid contour); None when not run.
        roi: the crop the landmark model saw (source pixels).
    """

    points: np.ndarray
    score: float
    origin: str
    roi: FaceCrop
    iris: np.ndarray | None = None
    eye_contour: np.ndarray | None = None

    @property
    def points_2d(self) -> np.ndarray:
        """(468, 2) float32 source pixels."""
        return np.ascontiguousarray(self.points[:, :2])

    @property
    def size(self) -> float:
        """The landmark box's side (pixels, 1.5 times the face's extent)."""
        return landmark_box(self.points[:, :2])[1]


@dataclass(frozen=True)
class MeshConfig:
    """Settings of :class:`MeshLocalizer`.

    min_face_score: the landmark model's face score a face needs (detection check, tracking).
    sure_face_score: a detection whose landmarks score this (logit 4.6) ends the search over
        quarter turns; below it the other turns are tried too and the best face kept. Faces
        seen upright score a logit of 20-45 on our renders, upside down or sideways 1-2 (still
        above ``min_face_score``: the landmark model then lays an upright mesh over them).
    min_detection_score: BlazeFace's score a candidate needs.
    ranges: the detectors run at each detection, merged (``short``, ``full``).
    max_candidates: at most this many detector boxes are checked by the landmark model.
    max_detection_roll: detections whose eye keypoints lie more than this (radians) from level
        in the turned image are left to another quarter turn (BlazeFace's keypoints, and the
        landmark model, are unreliable on faces lying sideways).
    max_settled_roll: ... and faces whose landmarks settle more than this from the turn's
        upright (the detector's keypoints on a sideways face can look level).
    max_refinements: landmark passes on a detection's own landmark box, until its angle
        changes by less than 3 degrees.
    iris: run the iris model on both eyes of every face found.
    threads: LiteRT threads per model.
    """

    min_face_score: float = 0.5
    sure_face_score: float = 0.99
    min_detection_score: float = 0.5
    ranges: tuple[str, ...] = ("short", "full")
    max_candidates: int = 4
    max_refinements: int = 4
    max_detection_roll: float = math.radians(45)
    max_settled_roll: float = math.radians(50)
    iris: bool = True
    threads: int = 2


@dataclass
class MeshStats:
    """Counts since the last reset: frames, tracked (kept by the landmark score), detections
    (frames that ran the detector), detected (... and found a face), lost (tracks dropped)."""

    frames: int = 0
    tracked: int = 0
    detections: int = 0
    detected: int = 0
    lost: int = 0
    turns_tried: dict[int, int] = field(default_factory=dict)


class MeshLocalizer:
    """Finds and follows one face in colour frames; see the module doc.

    >>> localizer = MeshLocalizer()
    >>> face = localizer.locate(frame.rgb, frame.intrinsics)     # MeshFace | None
    >>> localizer.reset()                                         # a new take or source

    Args:
        config: see :class:`MeshConfig`.
        directory: the model files' folder (default: the installed wheel's).
    """

    def __init__(self, config: MeshConfig | None = None, directory: Path | str | None = None):
        self.config = c = config or MeshConfig()
        self.detectors = [BlazeFaceDetector(r, min_score=c.min_detection_score, directory=directory, threads=c.threads)
                          for r in c.ranges]
        self.landmarker = FaceLandmarker(directory, c.threads)
        self.iris = IrisLandmarker(directory, c.threads) if c.iris else None
        self.stats = MeshStats()
        self._last: MeshFace | None = None

    def reset(self) -> None:
        """Forget the tracked face; the counters start again."""
        self._last = None
        self.stats = MeshStats()

    @property
    def tracking(self) -> bool:
        """Whether the next :meth:`locate` starts from the last face (no detector)."""
        return self._last is not None

    def locate(self, rgb: np.ndarray, intrinsics: Intrinsics, angle_prior: float | None = None) -> MeshFace | None:
        """The face in this frame: tracked from the last one, else detected; None when none.

        Args:
            rgb: (H, W, 3) uint8 RGB of the frame ``intrinsics`` describes.
            angle_prior: a crop angle (radians, see :class:`models.crop.FaceCrop`) the face
                is expected at, e.g. the depth orientation; detection tries its quarter turn first.
        """
        self.stats.frames += 1
        if self._last is not None:
            face = self._landmarks(rgb, intrinsics, _roi_of(self._last.points), "track")
            if face.score >= self.config.min_face_score and _follows(face, self._last, rgb.shape):
                self.stats.tracked += 1
                self._last = self._with_eyes(rgb, intrinsics, face)
                return self._last
            self.stats.lost += 1
            log.debug("mesh track lost: face score %.2f", face.score)
            self._last = None
        faces = self.detect(rgb, intrinsics, angle_prior)
        self._last = max(faces, key=lambda f: f.size) if faces else None
        if self._last is not None:
            self._last = self._with_eyes(rgb, intrinsics, self._last)
        return self._last

    def detect(self, rgb: np.ndarray, intrinsics: Intrinsics, angle_prior: float | None = None) -> list[MeshFace]:
        """Every face the detectors find and the landmark model confirms, at the first quarter
        turn that shows any (the prior's first, then upright, a quarter either way, upside
        down); without eyes. Counts as a detection in :attr:`stats`."""
        self.stats.detections += 1
        first = 0 if angle_prior is None else turns_of_angle(angle_prior)
        doubtful: list[MeshFace] = []
        for turns in [(first + k) % 4 for k in (0, 1, 3, 2)]:
            self.stats.turns_tried[turns] = self.stats.turns_tried.get(turns, 0) + 1
            faces = self._detect_at(rgb, intrinsics, turns)
            sure = [f for f in faces if f.score >= self.config.sure_face_score]
            if sure:
                self.stats.detected += 1
                return sure
            doubtful += faces
        if doubtful:  # none sure at any turn: the best of the rest
            self.stats.detected += 1
            best = max(doubtful, key=lambda f: f.score)
            return [best]
        return []

    # -- internals ----------------------------------------------------------------------------

    def _detect_at(self, rgb: np.ndarray, intrinsics: Intrinsics, turns: int) -> list[MeshFace]:
        height, width = rgb.shape[:2]
        turned = np.ascontiguousarray(np.rot90(rgb, turns)) if turns % 4 else rgb
        candidates = []  # (centre (2,), side, roll, score) in source pixels
        for detector in self.detectors:
            for det in detector.detect(turned):
                if abs(det.roll) > self.config.max_detection_roll:
                    continue  # a face lying sideways at this turn: found better at another
                kps = to_source(det.keypoints, turns, width, height)
                centre = to_source(det.centre, turns, width, height)
                eyes = kps[1] - kps[0]
                candidates.append((centre, det.size, math.atan2(eyes[1], eyes[0]), det.score))
        # Merge the two detectors' boxes of one face (centres within half a box): best score first.
        candidates.sort(key=lambda c: -c[3])
        kept: list[tuple[np.ndarray, float, float, float]] = []
        for cand in candidates:
            if all(np.linalg.norm(cand[0] - k[0]) > 0.5 * max(cand[1], k[1]) for k in kept):
                kept.append(cand)
        faces: list[MeshFace] = []
        for centre, side, roll, _ in kept[: self.config.max_candidates]:
            roi = FaceCrop(float(centre[0]), float(centre[1]), max(1.5 * side, 8.0), roll)
            face = self._landmarks(rgb, intrinsics, roi, "detect")
            if face.score < self.config.min_face_score:
                continue
            # MediaPipe's own ROI, until its angle settles: the landmark model corrects a roll
            # part of the way per pass (a detection's eye keypoints can be 40 degrees off on a
            # face turned sideways).
            for _ in range(self.config.max_refinements):
                roi = _roi_of(face.points)
                settled = abs(math.remainder(roi.angle - face.roi.angle, 2 * math.pi)) < math.radians(3)
                face = self._landmarks(rgb, intrinsics, roi, "detect")
                if settled or face.score < self.config.min_face_score:
                    break
            if face.score < self.config.min_face_score:
                continue
            if abs(math.remainder(face.roi.angle - angle_of_turns(turns), 2 * math.pi)) > self.config.max_settled_roll:
                continue  # settled far from this turn's upright: a sideways face, another turn's
            if all(np.linalg.norm(face.points[:, :2].mean(0) - f.points[:, :2].mean(0)) > 0.25 * f.size for f in faces):
                faces.append(face)
        return faces

    def _landmarks(self, rgb: np.ndarray, intrinsics: Intrinsics, roi: FaceCrop, origin: str) -> MeshFace:
        camera = crop_camera(intrinsics, roi, self.landmarker.input_size)
        result = self.landmarker.run(warp_rgb(rgb, camera))
        points = result.points.astype(np.float64)
        xy = camera.crop_to_source_pixels(points[:, :2])
        z = points[:, 2] * (roi.size / self.landmarker.input_size)
        return MeshFace(points=np.column_stack([xy, z]).astype(np.float32), score=result.score, origin=origin, roi=roi)

    def _with_eyes(self, rgb: np.ndarray, intrinsics: Intrinsics, face: MeshFace) -> MeshFace:
        if self.iris is None:
            return face
        iris, contour = [], []
        for centre, side, angle, flip in eye_boxes(face.points[:, :2]):
            camera = crop_camera(intrinsics, FaceCrop(float(centre[0]), float(centre[1]), max(side, 4.0), angle),
                                 self.iris.input_size)
            found = self.iris.run(warp_rgb(rgb, camera), flip=flip)
            iris.append(camera.crop_to_source_pixels(found.iris[:, :2].astype(np.float64)))
            contour.append(camera.crop_to_source_pixels(found.contour[:, :2].astype(np.float64)))
        # eye_boxes gives the subject's right eye first; FaceResult's rows are left, then right.
        return MeshFace(points=face.points, score=face.score, origin=face.origin, roi=face.roi,
                        iris=np.stack(iris[::-1]).astype(np.float32), eye_contour=np.stack(contour[::-1]).astype(np.float32))


def _follows(face: MeshFace, last: MeshFace, shape: tuple[int, ...], max_growth: float = 1.5) -> bool:
    """A tracked face is plausible: its landmark box within ``max_growth`` times the last
    one's size (either way) and its centre inside the image (never a collapsing or runaway mesh)."""
    ratio = face.size / max(last.size, 1e-6)
    centre = face.points[:, :2].mean(axis=0)
    inside = 0 <= centre[0] <= shape[1] - 1 and 0 <= centre[1] <= shape[0] - 1
    return bool(inside and 1 / max_growth <= ratio <= max_growth and np.all(np.isfinite(face.points)))


def _roi_of(points: np.ndarray) -> FaceCrop:
    centre, side, angle = landmark_box(points[:, :2])
    return FaceCrop(float(centre[0]), float(centre[1]), max(side, 8.0), angle)
