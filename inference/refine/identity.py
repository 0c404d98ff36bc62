"""Identity that settles over a take: the identity normal equations accumulated across frames."""

from __future__ import annotations

import logging

import numpy as np

from inference.refine.config import IdentityConfig
from inference.refine.result import IdentityObservation, IdentityPrior

log = logging.getLogger(__name__)


class IdentityAccumulator:
    """Information-form fusion of per-frame identity evidence with a forgetting factor.

    Holds ``Lambda = sum_f gamma^(age_f) S_f`` and ``eta = sum_f gamma^(age_f) v_f`` over
    the observations ``(S_f, v_f)`` of :class:`IdentityObservation`; the estimate is
    ``(Lambda + w I)^-1 eta`` with ``w`` the zero-mean prior weight. :meth:`reset` starts a
    new take (or a lost track).

    ``motion_mm``: optional callable mapping an identity change (100,) to a vertex motion
    in mm, used for the convergence test (default: the coefficient change's norm).
    """

    def __init__(self, num_identity: int = 100, config: IdentityConfig | None = None,
                 motion_mm=None):
        self.config = config or IdentityConfig()
        self.num_identity = num_identity
        self._motion_mm = motion_mm or (lambda delta: float(np.linalg.norm(delta)))
        self.reset()

    def reset(self) -> None:
        """Forget every observation (a new take, or the track was lost)."""
        self._information = np.zeros((self.num_identity, self.num_identity))
        self._vector = np.zeros(self.num_identity)
        self._mean = np.zeros(self.num_identity)
        self._count = 0
        self._recent_motion: list[float] = []
        self._converged = False

    @property
    def count(self) -> int:
        """Observations added since the last reset."""
        return self._count

    @property
    def converged(self) -> bool:
        """True once the estimate has stopped moving (see :class:`IdentityConfig`)."""
        return self._converged

    @property
    def mean(self) -> np.ndarray:
        """(100,) float32 current identity estimate (zeros before any observation)."""
        return self._mean.astype(np.float32)

    def add(self, observation: IdentityObservation) -> np.ndarray:
        """Fuse one frame's evidence; returns the new (100,) float32 estimate."""
        if not (np.all(np.isfinite(observation.information)) and np.all(np.isfinite(observation.vector))):
            log.warning("identity observation with non-finite values ignored")
            return self.mean
        gamma = self.config.forgetting
        self._information = gamma * self._information + observation.information
        self._vector = gamma * self._vector + observation.vector
        system = self._information + self.config.prior_weight * np.eye(self.num_identity)
        new_mean = np.linalg.solve(system, self._vector)
        motion = self._motion_mm(new_mean - self._mean)
        self._mean = new_mean
        self._count += 1
        self._recent_motion = (self._recent_motion + [motion])[-self.config.converge_window:]
        if (not self._converged and self._count >= self.config.converge_frames
                and len(self._recent_motion) == self.config.converge_window
                and max(self._recent_motion) < self.config.converge_tolerance):
            self._converged = True
            log.debug("identity settled after %d observations", self._count)
        return self.mean

    def prior(self) -> IdentityPrior | None:
        """The estimate as a prior for the refiner; None before any observation."""
        if self._count == 0:
            return None
        information = self.config.information_scale * (
            self._information + self.config.prior_weight * np.eye(self.num_identity))
        frozen = self._converged and self.config.freeze_when_converged
        return IdentityPrior(self.mean, information, frozen=frozen)
