"""Refinement over a take: per-frame fitting with an identity that settles across frames."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np

from inference.refine.config import RefineConfig
from inference.refine.identity import IdentityAccumulator
from inference.refine.refiner import DepthRefiner
from inference.refine.result import IdentityPrior, RefineResult
from inference.refine.rotation import rotation_angle_deg
from models.camera import Intrinsics
from models.face_model import FaceModel


class TakeRefiner:
    """A :class:`DepthRefiner` plus an :class:`IdentityAccumulator`, frame after frame.

    The first frame of a take fits identity on its own. Afterwards each of the first
    ``config.identity.observe_all_first`` frames, then every
    ``config.identity.observe_every``-th frame, solves identity jointly under the take's prior
    and feeds its marginal evidence to the accumulator; the frames between hold identity at
    the take's estimate (fast: pose and expression only). Once the estimate has settled and
    ``freeze_when_converged`` is set, identity is held for the rest of the take. A failed
    frame leaves the accumulator untouched; call :meth:`reset` at a new take or after the
    track was lost (another person may come back).

    While tracking is steady (``config.steady``: the warm start is the previous fit and the
    face moved little between the last two fits) a frame takes ``config.steady.iterations``
    solves instead of ``config.iterations``.
    """

    def __init__(self, model: FaceModel, config: RefineConfig | None = None,
                 refiner: DepthRefiner | None = None):
        self.refiner = refiner or DepthRefiner(model, config)
        self.config = self.refiner.config
        self.accumulator = IdentityAccumulator(self.refiner.num_identity, self.config.identity,
                                               motion_mm=self.refiner.subset.identity_motion_mm)
        self._frame = 0
        steady = self.config.steady
        self._steady_refiner: DepthRefiner | None = None
        if steady.iterations:
            # The same refiner (its subset and matrices shared), with fewer solves.
            self._steady_refiner = copy.copy(self.refiner)
            self._steady_refiner.config = replace(self.config, iterations=steady.iterations,
                                                  rigid_iterations=steady.rigid_iterations)
        self._fits: list[RefineResult] = []  # the last two successful fits, oldest first
        self.steady_frames = 0  # frames refined with the steady solves, since construction

    def reset(self) -> None:
        """Start a new take: forget the accumulated identity."""
        self.accumulator.reset()
        self._frame = 0
        self._fits = []

    def is_steady(self, rotation: np.ndarray, translation: np.ndarray) -> bool:
        """True when a frame warm-started at (``rotation``, ``translation``) is steady (see
        :class:`inference.refine.config.SteadyConfig`)."""
        if self._steady_refiner is None or len(self._fits) < 2:
            return False
        before, last = self._fits
        if not (np.array_equal(rotation, last.rotation) and np.array_equal(translation, last.translation)):
            return False  # not warm-started from the previous fit
        steady = self.config.steady
        return bool(np.linalg.norm(last.translation - before.translation) * 1000.0 < steady.max_motion_mm
                    and rotation_angle_deg(last.rotation, before.rotation) < steady.max_rotation_deg
                    and np.max(np.abs(last.expression - before.expression)) < steady.max_expression)

    @property
    def identity(self) -> np.ndarray | None:
        """The take's (100,) float32 identity estimate, None before the first observation."""
        return self.accumulator.mean if self.accumulator.count else None

    def refine(self, depth: np.ndarray | None, intrinsics: Intrinsics, rotation: np.ndarray,
               translation: np.ndarray, identity: np.ndarray, expression: np.ndarray,
               expression_start: np.ndarray | None = None, corrective: np.ndarray | None = None) -> RefineResult:
        """Refine one frame of the take (arguments as :meth:`DepthRefiner.refine`)."""
        prior = self.accumulator.prior()
        frozen = prior is not None and prior.frozen
        every = self.config.identity
        observe = not frozen and (prior is None or self._frame < every.observe_all_first
                                  or self._frame % every.observe_every == 0)
        if prior is not None and not observe:
            prior = IdentityPrior(prior.mean, prior.information, frozen=True)
        steady = self.is_steady(rotation, translation)
        refiner = self._steady_refiner if steady else self.refiner
        result = refiner.refine(depth, intrinsics, rotation, translation, identity, expression,
                                identity_prior=prior, observe_identity=observe,
                                expression_start=expression_start, corrective=corrective)
        self.steady_frames += steady
        if result.success:
            self._frame += 1
            if result.identity_observation is not None:
                self.accumulator.add(result.identity_observation)
            self._fits = [*self._fits[-1:], result]
        else:
            self._fits = []
        return result
