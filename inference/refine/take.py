"""Refinement over a take: per-frame fitting with an identity that settles across frames."""

from __future__ import annotations

import numpy as np

from inference.refine.config import RefineConfig
from inference.refine.identity import IdentityAccumulator
from inference.refine.refiner import DepthRefiner
from inference.refine.result import IdentityPrior, RefineResult
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
    """

    def __init__(self, model: FaceModel, config: RefineConfig | None = None,
                 refiner: DepthRefiner | None = None):
        self.refiner = refiner or DepthRefiner(model, config)
        self.config = self.refiner.config
        self.accumulator = IdentityAccumulator(self.refiner.num_identity, self.config.identity,
                                               motion_mm=self.refiner.subset.identity_motion_mm)
        self._frame = 0

    def reset(self) -> None:
        """Start a new take: forget the accumulated identity."""
        self.accumulator.reset()
        self._frame = 0

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
        result = self.refiner.refine(depth, intrinsics, rotation, translation, identity, expression,
                                     identity_prior=prior, observe_identity=observe,
                                     expression_start=expression_start, corrective=corrective)
        if result.success:
            self._frame += 1
            if result.identity_observation is not None:
                self.accumulator.add(result.identity_observation)
        return result
