"""The colour fit of one frame: the face model fitted to MediaPipe's 468 points and the iris.

:class:`ColourFit` ties the pieces together for the pipeline: the committed correspondence
(``assets/mediapipe_to_ict.npz``, built by ``python -m training.mediapipe_correspondence``),
per-point weights from its spread (points on the face's silhouette slide with the view and
count less), the eyelids from the iris model (:func:`with_eyelids`), the landmark fit over a
take (:class:`LandmarkTake`: pose, expression, identity settling) and the gaze from the iris
(:class:`GazeEstimator`) and the blink from the eyelid contour (:class:`BlinkEstimator`),
written into the eyeLook and eyeBlink curves so that curves and angles agree.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.landmark_fit.config import LandmarkFitConfig
from inference.landmark_fit.eyes import (
    EYELID_MESH_INDICES,
    NUM_EYELID,
    BlinkEstimator,
    GazeEstimator,
    with_eyelids,
)
from inference.landmark_fit.fitter import LandmarkFitResult, LandmarkFitter
from inference.landmark_fit.surface import MM_PER_M, SurfaceBasis, SurfacePoints
from inference.landmark_fit.take import LandmarkTake
from inference.refine.config import IdentityConfig
from models.camera import Intrinsics
from models.errors import ModelError
from models.face_model import REGION_SIZES, FaceModel
from models.face_model.eyes import EyeCurves

CORRESPONDENCE_FILE = "mediapipe_to_ict.npz"
COLD_START = {"iterations": 8, "rigid_iterations": 2}
# Identity over a take: every frame of the first second, then every 6th (the rest hold it).
TAKE_IDENTITY = IdentityConfig(observe_every=6)
# A point whose hits spread this far (mm, on the template) over the build's views weighs 1/2.
SPREAD_HALF_WEIGHT_MM = 3.0


def load_correspondence(path: Path, model: FaceModel) -> tuple[SurfacePoints, np.ndarray]:
    """The 468 surface points and (468,) weights in (0, 1] of a correspondence file.

    Raises :class:`ModelError` with one line naming the file when it is missing or malformed.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            triangles, barycentrics = data["triangles"].astype(np.int32), data["barycentrics"].astype(np.float32)
            spread = data["spread_mm"].astype(np.float64)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise ModelError(f"cannot read the landmark correspondence {path}: {exc}") from None
    if triangles.shape != (468, 3) or barycentrics.shape != (468, 3) or spread.shape != (468,) \
            or triangles.min() < 0 or triangles.max() >= REGION_SIZES["face"]:
        raise ModelError(f"the landmark correspondence {path} is malformed (expected 468 face-region points)")
    weights = 1.0 / (1.0 + (spread / SPREAD_HALF_WEIGHT_MM) ** 2)
    return SurfacePoints(triangles, barycentrics), weights


@dataclass(frozen=True, eq=False)
class ColourFace:
    """What colour tells about a face in one frame (source pixels).

    points_2d: (468, 2) MediaPipe's face landmarks; eye_contour: (2, 71, 2) or None; iris:
    (2, 5, 2) or None (rows the subject's left then right eye).
    """

    points_2d: np.ndarray
    eye_contour: np.ndarray | None = None
    iris: np.ndarray | None = None


class ColourFit:
    """Fits the face model to a :class:`ColourFace`, frame after frame (see the module doc).

    Args:
        model: the face model; assets_dir: the folder holding ``mediapipe_to_ict.npz``.
    """

    def __init__(self, model: FaceModel, assets_dir: Path, config: LandmarkFitConfig | None = None):
        self.points, self.weights = load_correspondence(Path(assets_dir) / CORRESPONDENCE_FILE, model)
        self.take = LandmarkTake(LandmarkFitter(SurfaceBasis(model, self.points), config), TAKE_IDENTITY)
        self.gaze = GazeEstimator(model)
        # the eye corners (outer, inner; left then right eye) on the model, for the eyeballs' place
        self._corners = SurfaceBasis(model, self.points.subset(EYELID_MESH_INDICES[:, [0, 8]].ravel()))
        self._corners_mean = self._corners.template.reshape(2, 2, 3) / MM_PER_M
        self.blink = BlinkEstimator()
        self.eyes = EyeCurves(model.expression_names)

    def reset(self) -> None:
        """A new take (or a lost track): identity starts over."""
        self.take.reset()
        self.blink.reset()

    def fit(self, face: ColourFace, intrinsics: Intrinsics, rotation: np.ndarray, translation: np.ndarray,
            identity: np.ndarray, expression_prior: np.ndarray, expression_start: np.ndarray | None = None,
            corrective: np.ndarray | None = None, cold: bool = False) -> LandmarkFitResult:
        """The fitted face; its eyeLook curves carry the iris's gaze and its eyeBlink curves the
        eyelid contour's blink where those were measured.

        rotation, translation: the start pose (camera from head, metres); identity: (100,) the
        start and the per-frame pull (before the take's identity settles); expression_prior:
        (53,) the RGB branch's; corrective: (9409, 3) metres, the decoder's head-frame offsets,
        held fixed in the fit; cold: the start is not the previous frame's fit (twice the solves,
        two of them rigid). The gaze is measured with the eyeballs anchored at the seen corners.
        """
        targets = with_eyelids(face.points_2d, face.eye_contour)
        offset = None if corrective is None else self.points.blend(np.asarray(corrective, np.float64)) * MM_PER_M
        result = self.take.fit(targets, intrinsics, rotation, translation, identity, expression_prior,
                               weights=self.weights, expression_start=expression_start, offset_mm=offset,
                               **(COLD_START if cold else {}))
        expression = self.measured_eyes(face, intrinsics, result.rotation, result.translation, result.identity,
                                        result.expression, anchor=True)
        return LandmarkFitResult(result.rotation, result.translation, result.identity, expression,
                                 result.residual_px, result.iterations, result.identity_observation)

    def measured_eyes(self, face: ColourFace, intrinsics: Intrinsics, rotation: np.ndarray,
                      translation: np.ndarray, identity: np.ndarray, expression: np.ndarray,
                      anchor: bool = False) -> np.ndarray:
        """(53,) ``expression`` with its eyeLook curves set from the iris's gaze (for the face at
        this pose and identity) and its eyeBlink curves from the eyelid contour, where measured.
        Any mode with colour uses it (the depth modes after their depth fit). anchor: place the
        eyeballs from the seen eye corners (:meth:`GazeEstimator.anchored`) rather than the
        fitted identity: RGB mode, whose identity and distance colour alone pins down loosely
        (held-out seeds 1001-1003: 12.1 -> 7.3 degrees off for eyes looking ahead; with depth
        the fitted face is better: 6.2 against 7.9 anchored)."""
        gaze = None
        if face.iris is not None:
            centres = None
            if anchor and face.eye_contour is not None:
                corners_head = self._corners.head_points(identity, expression).reshape(2, 2, 3) / MM_PER_M
                corners_px = face.eye_contour[:, [0, NUM_EYELID // 2], :2]
                centres = self.gaze.anchored(self._corners_mean, corners_head, corners_px, intrinsics, rotation,
                                             translation)
            gaze = self.gaze(face.iris, intrinsics, rotation, translation, identity, centres)
        blink = None if face.eye_contour is None else self.blink(face.eye_contour)
        return self.eyes.with_eyes(expression, gaze=gaze, blink=blink)
