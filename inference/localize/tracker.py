"""Per-frame crops for the pipeline: detect once, then follow the face.

The pipeline calls, once per frame::

    found = tracker.crop_for(frame, mode)       # Localization | None (None: no face this frame)
    if found is not None:
        result = run_network(frame, found.crop)  # the branch of the mode, on that crop
    tracker.update(result.landmarks_2d, rotation=result.rotation,        # or update(None)
                   translation=result.translation, confidence=result.confidence)

Colour (every mode, whenever the frame has colour): :class:`MeshLocalizer` finds the face with
MediaPipe's detector and follows it by its own 468 landmarks, re-detecting in the same frame
whenever the landmark model's face score drops (a cut, the face left); the result rides on
``Localization.mesh``. In RGB mode the crop is placed from those landmarks, as training places
its crops (:func:`crop_from_mesh`), every frame; the depth orientation, where the frame has
depth, is the detector's first quarter turn.

Depth and RGB-D modes: while the track holds, :meth:`FaceTracker.crop_for` predicts the crop
from the previous result (no detector runs): centred on the 68 landmarks' centroid, turned by
the head's up, sized like training's crops; with a constant-velocity step (damped) so a moving
face stays centred. The track is lost, and the next frame runs the detector, when
:meth:`update` gets no result, a confidence below ``min_confidence``, a result that jumped more
than ``max_jump`` crop sides from where its crop was, landmarks that leave the image (a face
at the border), or an implausible size. Detection: depth (with the tracked angle as its prior),
else (RGB-D) the colour localizer's face. :attr:`FaceTracker.stats` counts detections against
tracked frames.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace

import numpy as np

from inference.localize.depth import DepthLocalizer, crop_angle_of_pose
from inference.localize.mesh import MeshFace, MeshLocalizer, multipie_from_mesh
from inference.localize.types import Localization, Origin
from models.camera import Intrinsics
from models.crop import FaceCrop, angle_from_up, crop_from_point
from models.frame import Frame
from models.mode import Mode

__all__ = ["FaceTracker", "TrackerConfig", "TrackerStats", "crop_from_landmarks", "crop_from_mesh"]

log = logging.getLogger(__name__)

# The 68 landmarks' centroid in the ICT head frame (metres): where training centres its crops
# (training.data.synthetic.face_centre_in_head of the pinned model, rounded to 0.1 mm).
DEFAULT_FACE_CENTRE = (0.0, -0.0026, 0.0944)


@dataclass(frozen=True)
class TrackerConfig:
    """Settings of :class:`FaceTracker`.

    extent_m: the metric crop side (the crop recipe's ``metric_extent_m``).
    face_centre: (3,) head-frame point the crops are centred on (metres).
    eye_mouth_to_crop, eye_span_to_crop: colour without metric pose: the crop side is the larger
        of these times the eyes-to-mouth distance and the outer eye corners' distance (each
        shrinks when the head turns one way; calibrated on synthetic frames to training's
        0.26 m crops, within +-10 %).
    velocity_damping: the constant-velocity step taken, as a fraction of the last motion
        (0: none).
    min_confidence: results the caller rates below this lose the track.
    max_jump: a result whose crop centre lies more than this many crop sides from the crop it
        was found in loses the track.
    max_outside: a result with more than this fraction of its landmarks outside the image
        (a face leaving the frame) loses the track.
    min_size_px: crops smaller than this lose the track.
    redetect_every: run the detector every N tracked frames anyway (0: never).
    mesh_crop_scale, mesh_crop_shift: :func:`crop_from_mesh`'s correction of
        :func:`crop_from_landmarks` on the mesh's 68 counterparts (size factor; centre shift in
        crop sides, crop frame x right, y down). Calibrated on synthetic frames (seeds
        1000-1019, 6 frames each) against training's crops: before, size 1.04 (median),
        centre (-0.003, -0.006).
    """

    extent_m: float = 0.26
    face_centre: tuple[float, float, float] = DEFAULT_FACE_CENTRE
    eye_mouth_to_crop: float = 3.6
    eye_span_to_crop: float = 3.0
    velocity_damping: float = 0.7
    min_confidence: float = 0.5
    max_jump: float = 0.35
    max_outside: float = 0.25
    min_size_px: float = 24.0
    redetect_every: int = 0
    mesh_crop_scale: float = 0.962
    mesh_crop_shift: tuple[float, float] = (0.003, 0.006)


@dataclass
class TrackerStats:
    """Counts since the last :meth:`FaceTracker.reset`.

    frames: :meth:`FaceTracker.crop_for` calls; tracked: frames served from the track (RGB
    mode: from the colour localizer's tracked landmarks); detections: frames that ran a
    detector; detected: ... and found a face; results: results
    the caller reported; lost: tracks lost; rejected: results refused, by reason (``no
    result``, ``low confidence``, ``at the border``, ``jump``, ``implausible size``, ``bad
    landmarks``), whether a track was held or the crop came from a detection.
    """

    frames: int = 0
    tracked: int = 0
    detections: int = 0
    detected: int = 0
    lost: int = 0
    results: int = 0
    rejected: dict[str, int] = field(default_factory=dict)


def crop_from_landmarks(landmarks_2d: np.ndarray, config: TrackerConfig | None = None) -> FaceCrop:
    """A training-like crop from 68 landmarks (Multi-PIE order, source pixels) alone: centred
    on their mean, turned so the chin lies below the nose bridge, sized from the eyes and mouth."""
    config = config or TrackerConfig()
    lm = np.asarray(landmarks_2d, np.float64)
    eyes_to_mouth = float(np.linalg.norm(lm[36:48].mean(axis=0) - lm[48:68].mean(axis=0)))
    size = max(config.eye_mouth_to_crop * eyes_to_mouth, config.eye_span_to_crop * float(np.linalg.norm(lm[45] - lm[36])))
    # The chin (8) to the top of the nose bridge (27) runs along the head's up: within ~2 degrees
    # of it at yaw up to 40 and pitch up to 25 (the eyes-to-mouth line is off by up to 16).
    up = lm[27] - lm[8]
    angle = angle_from_up(up) if np.linalg.norm(up) > 0 else 0.0
    centre = lm.mean(axis=0)
    return FaceCrop(float(centre[0]), float(centre[1]), max(size, 1.0), angle)


def crop_from_mesh(points: np.ndarray, config: TrackerConfig | None = None) -> FaceCrop:
    """A training-like crop from MediaPipe's 468 points (source pixels): the crop of
    :func:`crop_from_landmarks` on their 68 Multi-PIE counterparts, corrected by
    ``mesh_crop_scale`` and ``mesh_crop_shift`` (see :class:`TrackerConfig`)."""
    config = config or TrackerConfig()
    crop = crop_from_landmarks(multipie_from_mesh(points), config)
    c, s = math.cos(crop.angle), math.sin(crop.angle)
    dx, dy = config.mesh_crop_shift
    return FaceCrop(crop.centre_x + (dx * c - dy * s) * crop.size, crop.centre_y + (dx * s + dy * c) * crop.size,
                    crop.size * config.mesh_crop_scale, crop.angle)


def _angle_difference(a: float, b: float) -> float:
    return math.remainder(a - b, 2 * math.pi)


class FaceTracker:
    """Crops for a stream of frames; see the module doc.

    Args:
        depth: the depth detector (depth and RGB-D modes, and the orientation in RGB mode),
            or None.
        mesh: the colour localizer (every frame with colour), or None.
        config: see :class:`TrackerConfig`.
    """

    def __init__(self, depth: DepthLocalizer | None = None, mesh: MeshLocalizer | None = None,
                 config: TrackerConfig | None = None):
        self.depth = depth
        self.mesh = mesh
        self.config = config or TrackerConfig()
        self.stats = TrackerStats()
        self._face_centre = np.asarray(self.config.face_centre, np.float64)
        self.reset()

    # -- state ----------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget the track (a new take, a new source); the counters start again."""
        self._last: FaceCrop | None = None  # crop of the last accepted result
        self._previous: FaceCrop | None = None  # the one before, for the velocity
        self._served: Localization | None = None  # what crop_for returned for this frame
        self._intrinsics: Intrinsics | None = None
        self._since_detection = 0
        self._angle_prior: float | None = None
        self.stats = TrackerStats()
        if self.mesh is not None:
            self.mesh.reset()

    @property
    def tracking(self) -> bool:
        """Whether the next :meth:`crop_for` predicts from the track (no detector)."""
        return self._last is not None

    # -- per frame ------------------------------------------------------------------------

    def crop_for(self, frame: Frame, mode: Mode | str) -> Localization | None:
        """The crop for ``frame`` in ``mode`` (``rgb``, ``depth``, ``rgbd``): predicted from the
        track, or detected; None when no face is found (then call :meth:`update` with None, or
        not at all). Where the frame has colour, ``Localization.mesh`` holds the colour
        localizer's 468 landmarks (None when it found no face)."""
        mode = mode if isinstance(mode, Mode) else Mode.parse(mode)
        self.stats.frames += 1
        self._intrinsics = frame.intrinsics
        if mode is Mode.RGB:
            self._served = self._from_colour(frame)
            return self._served
        c = self.config
        if self._last is not None and not (c.redetect_every and self._since_detection >= c.redetect_every):
            self.stats.tracked += 1
            self._since_detection += 1
            found = Localization(crop=self._predict(), origin=Origin.TRACK)
        else:
            found = self._detect(frame, mode)
            self._since_detection = 0
        if found is not None and found.mesh is None and frame.rgb is not None and self.mesh is not None:
            found = replace(found, mesh=self.mesh.locate(frame.rgb, frame.intrinsics, found.crop.angle))
        self._served = found
        return found

    def update(self, landmarks_2d: np.ndarray | None, rotation: np.ndarray | None = None,
               translation: np.ndarray | None = None, confidence: float = 1.0) -> bool:
        """Report this frame's result; returns whether the track holds for the next frame.

        Args:
            landmarks_2d: (68, 2) source-image pixels of the result, or None (no face found).
            rotation, translation: the result's head pose (camera from head, source camera
                frame, metres). With both (depth, RGB-D), the next crop is placed exactly as
                training places crops; without the translation (colour), from the landmarks.
            confidence: the caller's confidence in the result, in [0, 1].
        """
        served, self._served = self._served, None
        if landmarks_2d is None:
            return self._lose("no result") if served is not None else False
        self.stats.results += 1
        lm = np.asarray(landmarks_2d, np.float64)
        c = self.config
        if not (lm.shape == (68, 2) and np.all(np.isfinite(lm))):
            return self._lose("bad landmarks")
        if confidence < c.min_confidence:
            return self._lose("low confidence")
        k = self._intrinsics
        if k is not None:
            outside = (lm[:, 0] < 0) | (lm[:, 0] > k.width - 1) | (lm[:, 1] < 0) | (lm[:, 1] > k.height - 1)
            if outside.mean() > c.max_outside:
                return self._lose("at the border")
        crop = self._crop_of_result(lm, rotation, translation)
        if crop is None or crop.size < c.min_size_px:
            return self._lose("implausible size")
        if served is not None:
            jump = math.hypot(crop.centre_x - served.crop.centre_x, crop.centre_y - served.crop.centre_y)
            if jump > c.max_jump * served.crop.size:
                return self._lose("jump")
        self._previous = self._last if self._last is not None else crop
        self._last = crop
        self._angle_prior = crop.angle
        return True

    # -- internals ------------------------------------------------------------------------

    def _lose(self, reason: str) -> bool:
        """Reject this frame's result; a held track is lost (the next frame detects)."""
        self.stats.rejected[reason] = self.stats.rejected.get(reason, 0) + 1
        if self._last is not None:
            self.stats.lost += 1
            log.debug("track lost: %s", reason)
        self._last = self._previous = None
        return False

    def _predict(self) -> FaceCrop:
        last, prev = self._last, self._previous
        d = self.config.velocity_damping
        if prev is None or d <= 0:
            return last
        return FaceCrop(last.centre_x + d * (last.centre_x - prev.centre_x),
                        last.centre_y + d * (last.centre_y - prev.centre_y),
                        max(1.0, last.size * (last.size / prev.size) ** d),
                        last.angle + d * _angle_difference(last.angle, prev.angle))

    def _crop_of_result(self, lm: np.ndarray, rotation: np.ndarray | None,
                        translation: np.ndarray | None) -> FaceCrop | None:
        k = self._intrinsics
        if rotation is not None and translation is not None and k is not None:
            r = np.asarray(rotation, np.float64)
            centre = r @ self._face_centre + np.asarray(translation, np.float64)
            if not centre[2] > 0.05:
                return None
            return crop_from_point(k, centre, self.config.extent_m, crop_angle_of_pose(k, r, centre))
        crop = crop_from_landmarks(lm, self.config)
        if rotation is not None and k is not None:  # the head's own up beats the eyes-mouth line
            r = np.asarray(rotation, np.float64)
            ray = np.array([(crop.centre_x - k.cx) / k.fx, (crop.centre_y - k.cy) / k.fy, 1.0])
            crop = replace(crop, angle=crop_angle_of_pose(k, r, ray))
        return crop

    def _from_colour(self, frame: Frame) -> Localization | None:
        """RGB mode: the colour localizer's face this frame, its crop placed from the landmarks
        (the depth orientation first, where the frame has depth and a detection is due)."""
        if frame.rgb is None or self.mesh is None:
            return None
        prior = self._angle_prior
        if not self.mesh.tracking and frame.depth is not None and self.depth is not None:
            oriented = self.depth.locate(frame.depth, frame.intrinsics, prior)
            prior = oriented.crop.angle if oriented is not None else prior
        face = self.mesh.locate(frame.rgb, frame.intrinsics, prior)
        if face is not None and face.origin == "track":
            self.stats.tracked += 1
        else:
            self.stats.detections += 1
            if face is None:
                return None
            self.stats.detected += 1
        found = self._of_mesh(face)
        self._angle_prior = found.crop.angle
        return found

    def _detect(self, frame: Frame, mode: Mode) -> Localization | None:
        self.stats.detections += 1
        found = None
        # Depth, where the frame has it: far more reliable than colour for the pose.
        if frame.depth is not None and self.depth is not None:
            found = self.depth.locate(frame.depth, frame.intrinsics, self._angle_prior)
        if found is None and mode is Mode.RGBD and frame.rgb is not None and self.mesh is not None:
            found = self._colour_detection(frame)
        if found is not None:
            self.stats.detected += 1
        return found

    def _colour_detection(self, frame: Frame) -> Localization | None:
        face = self.mesh.locate(frame.rgb, frame.intrinsics, self._angle_prior)
        return None if face is None else self._of_mesh(face)

    def _of_mesh(self, face: MeshFace) -> Localization:
        """The crop the colour localizer's face gives (training's framing, from its landmarks)."""
        origin = Origin.TRACK if face.origin == "track" else Origin.RGB
        return Localization(crop=crop_from_mesh(face.points, self.config), origin=origin, score=face.score, mesh=face)
