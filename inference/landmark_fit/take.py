"""The landmark fit over a take: identity settles across frames, as in depth refinement."""

from __future__ import annotations

import numpy as np

from inference.landmark_fit.fitter import LandmarkFitResult, LandmarkFitter
from inference.refine.config import IdentityConfig
from inference.refine.identity import IdentityAccumulator
from inference.refine.result import IdentityPrior


class LandmarkTake:
    """A :class:`LandmarkFitter` plus an :class:`IdentityAccumulator`, frame after frame.

    Every ``observe_every``-th frame (each of the first ``observe_all_first``) solves identity
    under the take's prior and feeds its marginal evidence to the accumulator; the frames
    between hold identity at the take's estimate. :meth:`reset` at a new take or a lost track.
    """

    def __init__(self, fitter: LandmarkFitter, config: IdentityConfig | None = None):
        self.fitter = fitter
        self.config = config or IdentityConfig()
        self.accumulator = IdentityAccumulator(fitter.basis.num_identity, self.config)
        self._frame = 0

    def reset(self) -> None:
        self.accumulator.reset()
        self._frame = 0

    @property
    def identity(self) -> np.ndarray | None:
        """The take's (100,) float32 identity, None before the first observation."""
        return self.accumulator.mean if self.accumulator.count else None

    def fit(self, targets_px: np.ndarray, intrinsics, rotation: np.ndarray, translation: np.ndarray,
            identity: np.ndarray, expression_prior: np.ndarray, **kwargs) -> LandmarkFitResult:
        """Fit one frame of the take (arguments as :meth:`LandmarkFitter.fit`)."""
        prior = self.accumulator.prior()
        c = self.config
        observe = prior is None or self._frame < c.observe_all_first or self._frame % c.observe_every == 0
        if prior is not None and (prior.frozen or not observe):
            observe = False
            prior = IdentityPrior(prior.mean, prior.information, frozen=True)
        result = self.fitter.fit(targets_px, intrinsics, rotation, translation, identity, expression_prior,
                                 identity_prior=prior, solve_identity=observe, observe_identity=observe, **kwargs)
        self._frame += 1
        if result.identity_observation is not None:
            self.accumulator.add(result.identity_observation)
        return result
