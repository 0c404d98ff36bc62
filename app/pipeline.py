"""The face pipeline: one frame in, one :class:`FaceResult` out.

Stages (their times go to ``FaceResult.stage_ms``): ``localize`` (find or track the face,
giving a crop), ``infer`` (the ONNX branch of the active mode), ``refine`` (Gauss-Newton
fit to the depth map, depth modes only), ``smooth`` (One Euro over time), ``mesh`` (decode
the face mesh with the corrective, pose it, project the landmarks); in RGB mode ``fit`` (the
face model fitted to MediaPipe's 468 points, eyelids and iris) takes refine's place. The GUI
and the headless runner drive the same object; the mode can change between any two frames.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import replace

import numpy as np

from app.config import PipelineConfig
from inference.confidence import DepthAgreement
from inference.landmark_fit.colour import ColourFace, ColourFit
from inference.localize import Localization, Origin, make_tracker
from inference.refine import RefineConfig, RefineResult, TakeRefiner
from inference.smoothing import FaceSmoother
from models.errors import FaceFromXError
from models.face_model import FaceModel, load_face_model
from models.face_model.eyes import EyeCurves
from models.face_result import FaceResult
from models.frame import Frame
from models.mode import Mode, modes_of, richest_mode
from runtime.branches import Branch, BranchOutput, Decoder
from runtime.onnx_session import SessionConfig

log = logging.getLogger(__name__)

DEPTH_MODES = (Mode.DEPTH, Mode.RGBD)
# A result is implausible (and reported as not found) outside these limits.
MIN_FACE_DISTANCE_M = 0.1
MAX_FACE_DISTANCE_M = 3.0
MIN_LANDMARKS_IN_VIEW = 0.5
MAX_REFINE_RESIDUAL_MM = 8.0
# Depth modes: a face the depth map confirms on less than this fraction of its visible surface
# (see inference.confidence) has slid off the face: not found, and the next frame re-detects.
MIN_DEPTH_CONFIDENCE = 0.5


class ModeNotAvailableError(FaceFromXError):
    """The frame lacks what the mode needs (depth for the depth modes, colour for rgb)."""


class Pipeline:
    """Turns frames into faces with the branch of the active mode.

    Args:
        config: what to run (mode, refinement, smoothing, where the weights are).
        model: the face model (loaded from the cache when omitted).

    Raises :class:`models.errors.ModelError` at construction when a branch's ONNX file or
    sidecar is missing or mismatched (naming the file).
    """

    def __init__(self, config: PipelineConfig = PipelineConfig(), model: FaceModel | None = None):  # noqa: B008
        self.config = config
        self.model = model or load_face_model()
        session = SessionConfig(threads=config.threads, use_gpu=config.use_gpu)
        self.branches = {mode: Branch(config.assets_dir, mode, self.model, session) for mode in Mode}
        self.decoder = Decoder(config.assets_dir, self.model, session)
        self.tracker = make_tracker(self.model, extent_m=self.branches[Mode.RGBD].recipe.metric_extent_m)
        self.agreement = DepthAgreement(self.model)
        self.eyes = EyeCurves(self.model.expression_names)
        self.refiner = TakeRefiner(self.model, RefineConfig())
        self.colour = ColourFit(self.model, config.assets_dir)
        self.smoother = FaceSmoother(config.smoothing)
        self._last: FaceResult | None = None
        self._last_fit: RefineResult | None = None  # the previous frame's raw (unsmoothed) fit
        self._last_colour: tuple | None = None  # the previous frame's raw colour fit (R, t, e)
        # Head-frame centroid of the 68 landmarks of the mean face: the point the localizer's
        # rigid fit places (``Localization.centre_cam``), as the tracker holds it.
        self._landmark_centroid = np.asarray(self.tracker.config.face_centre, np.float64)

    # -- controls (any thread; they take effect on the next frame) ------------------------------

    @property
    def mode(self) -> Mode | None:
        return self.config.mode

    def set_mode(self, mode: Mode) -> None:
        if mode != self.config.mode:
            self.config = replace(self.config, mode=mode)
            self.smoother.reset()

    def apply(self, config: PipelineConfig) -> None:
        """Take the controls of ``config`` (mode, refinement, smoothing on or off) from the next
        frame on; the weights and threads stay those the pipeline was built with."""
        if config.mode is not None:
            self.set_mode(config.mode)
        self.config = replace(self.config, refine=config.refine,
                              smoothing=replace(self.config.smoothing, enabled=config.smoothing.enabled))

    @property
    def refine(self) -> bool:
        return self.config.refine

    @property
    def smoothing_enabled(self) -> bool:
        return self.config.smoothing.enabled

    def reset(self) -> None:
        """Forget the track, the accumulated identity and the filters (a new take or actor)."""
        self.tracker.reset()
        self.refiner.reset()
        self.colour.reset()
        self.smoother.reset()
        self._last = None
        self._last_fit = None
        self._last_colour = None

    # -- processing -----------------------------------------------------------------------------

    def _resolve_mode(self, frame: Frame) -> Mode:
        mode = self.config.mode or richest_mode(modes_of(frame.rgb is not None, frame.depth is not None))
        if mode in DEPTH_MODES and frame.depth is None:
            raise ModeNotAvailableError(f"mode {mode.value!r} needs depth, and this source gives none")
        if mode in (Mode.RGB, Mode.RGBD) and frame.rgb is None:
            raise ModeNotAvailableError(f"mode {mode.value!r} needs colour, and this source gives none")
        return mode

    def process(self, frame: Frame) -> FaceResult:
        """The face in ``frame`` (``found`` False, repeating the last face, when there is none)."""
        start = time.perf_counter()
        stages: dict[str, float] = {}

        @contextmanager
        def stage(name: str):
            tick = time.perf_counter()
            yield
            stages[name] = (time.perf_counter() - tick) * 1000.0

        mode = self._resolve_mode(frame)
        with stage("localize"):
            located = self.tracker.crop_for(frame, mode)
        if located is None:
            return self._not_found(frame, mode, stages, start)
        with stage("infer"):
            estimate = self.branches[mode].run(frame, located.crop)
        rotation, translation = estimate.rotation, estimate.translation
        identity, expression = estimate.identity, estimate.expression
        fit = None
        if mode in DEPTH_MODES and self.refine:
            with stage("refine"):
                fit = self._refine(frame, located, estimate)
            if fit is None:
                return self._not_found(frame, mode, stages, start)
            rotation, translation, identity, expression = fit.rotation, fit.translation, fit.identity, fit.expression
        elif mode is Mode.RGB and self.refine and located.mesh is not None:
            with stage("fit"):
                rotation, translation, identity, expression = self._fit_colour(frame, located, estimate)
        if located.mesh is not None and mode is not Mode.RGB:  # the eyes from colour, in every mode
            mesh = located.mesh
            expression = self.colour.measured_eyes(ColourFace(mesh.points_2d, mesh.eye_contour, mesh.iris),
                                                   frame.intrinsics, rotation, translation, identity, expression)
        with stage("smooth"):
            if self.smoothing_enabled:
                rotation, translation, identity, expression = self.smoother(
                    rotation, translation, identity, expression, frame.timestamp)
        with stage("mesh"):
            result = replace(self._result(frame, mode, estimate, rotation, translation, identity, expression),
                             crop=located.crop)
        if not self._plausible(result):
            return self._not_found(frame, mode, stages, start)
        if mode in DEPTH_MODES:
            result = replace(result, confidence=self.agreement(result.vertices, rotation, frame.depth, frame.intrinsics))
            if result.confidence < MIN_DEPTH_CONFIDENCE:
                log.debug("frame %d: depth confirms %.0f %% of the face", frame.index, 100 * result.confidence)
                return self._not_found(frame, mode, stages, start)
        result = replace(result, stage_ms=stages, latency_ms=(time.perf_counter() - start) * 1000.0)
        if located.mesh is not None:  # the colour localizer's landmarks, for the fits that use them
            mesh = located.mesh
            result = replace(result, mesh_points_2d=mesh.points_2d, mesh_score=mesh.score, iris_2d=mesh.iris,
                             eye_contour_2d=mesh.eye_contour)
        # Colour alone gives no metric distance: the tracker then places the crop from landmarks.
        metric = mode in DEPTH_MODES
        self.tracker.update(result.landmarks_2d, rotation=result.rotation,
                            translation=result.translation if metric else None)
        self._last, self._last_fit = result, fit
        return result

    def _refine(self, frame: Frame, located: Localization, estimate: BranchOutput) -> RefineResult | None:
        """Fit the face to the depth map from the best start available; None if no start fits.

        Starts, in order: the previous frame's fit, pose and expression (while tracking: the
        face moved little), the network's pose, the localizer's rigid fit of the mean face (on
        detection). The network's expression is the prior in every case; the decoder's
        corrective, at the start's coefficients, is part of the surface fitted.
        """
        starts = []
        previous = self._last_fit
        if located.origin is Origin.TRACK and previous is not None:
            starts.append((previous.rotation, previous.translation, previous.identity, previous.expression))
        network = (estimate.identity, estimate.expression)
        starts.append((estimate.rotation, estimate.translation, *network))
        if located.rotation is not None and located.centre_cam is not None and located.origin is not Origin.TRACK:
            centroid = self._landmark_centroid
            starts.append((located.rotation, located.centre_cam - located.rotation @ centroid, *network))
        for rotation, translation, identity, expression in starts:
            fit = self.refiner.refine(frame.depth, frame.intrinsics, rotation, translation, estimate.identity,
                                      estimate.expression, expression_start=expression,
                                      corrective=self.decoder.corrective(identity, expression))
            if fit.success and fit.residual_mm <= MAX_REFINE_RESIDUAL_MM:
                return fit
            log.debug("frame %d: refinement rejected (%s)", frame.index, fit.reason)
        return None

    def _fit_colour(self, frame: Frame, located: Localization, estimate: BranchOutput) -> tuple:
        """RGB mode: the face model fitted to the localizer's 468 points, eyelids and iris
        (:class:`inference.landmark_fit.ColourFit`), from the previous frame's fit while tracking,
        else from the network's pose; the network's expression is the prior."""
        previous = self._last_colour
        cold = located.origin is not Origin.TRACK or previous is None
        if cold:
            rotation, translation, expression = estimate.rotation, estimate.translation, estimate.expression
        else:
            rotation, translation, expression = previous
        mesh = located.mesh
        fit = self.colour.fit(ColourFace(mesh.points_2d, mesh.eye_contour, mesh.iris), frame.intrinsics,
                              rotation, translation, estimate.identity, estimate.expression,
                              expression_start=expression,
                              corrective=self.decoder.corrective(estimate.identity, estimate.expression), cold=cold)
        self._last_colour = (fit.rotation, fit.translation, fit.expression)
        return fit.rotation, fit.translation, fit.identity, fit.expression

    def _result(self, frame: Frame, mode: Mode, estimate: BranchOutput, rotation: np.ndarray,
                translation: np.ndarray, identity: np.ndarray, expression: np.ndarray) -> FaceResult:
        head = self.decoder.vertices(identity, expression)
        vertices = (head @ rotation.T.astype(np.float32) + translation.astype(np.float32)).astype(np.float32)
        landmarks_3d = vertices[self.model.landmark_indices]
        return FaceResult(
            index=frame.index, timestamp=frame.timestamp, intrinsics=frame.intrinsics, found=True,
            rotation=rotation, translation=translation, identity=identity, expression=expression,
            vertices=vertices, landmarks_3d=landmarks_3d,
            landmarks_2d=frame.intrinsics.project(landmarks_3d).astype(np.float32), mode=mode.value,
            gaze=self.eyes.gaze(expression), blink=self.eyes.blink_of(expression),
        )

    def _plausible(self, result: FaceResult) -> bool:
        z = float(result.translation[2])
        if not (MIN_FACE_DISTANCE_M < z < MAX_FACE_DISTANCE_M) or not np.isfinite(result.vertices).all():
            return False
        uv = result.landmarks_2d
        k = result.intrinsics
        inside = (uv[:, 0] >= 0) & (uv[:, 0] < k.width) & (uv[:, 1] >= 0) & (uv[:, 1] < k.height)
        return inside.mean() >= MIN_LANDMARKS_IN_VIEW

    def _not_found(self, frame: Frame, mode: Mode, stages: dict[str, float], start: float) -> FaceResult:
        self.tracker.update(None)
        self.smoother.reset()
        self._last_fit = None
        self._last_colour = None
        last = self._last
        held = {} if last is None else {
            "rotation": last.rotation, "translation": last.translation, "identity": last.identity,
            "expression": last.expression, "vertices": last.vertices, "landmarks_3d": last.landmarks_3d,
            "landmarks_2d": last.landmarks_2d, "gaze": last.gaze, "blink": last.blink,
        }
        return FaceResult(index=frame.index, timestamp=frame.timestamp, intrinsics=frame.intrinsics,
                          found=False, mode=mode.value, stage_ms=stages,
                          latency_ms=(time.perf_counter() - start) * 1000.0, **held)
