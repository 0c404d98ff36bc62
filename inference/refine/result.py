"""What one refinement returns, and what one frame tells about identity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class IdentityObservation:
    """One frame's evidence about identity: its depth (pose and expression marginalised out)
    and the network's identity estimate (with ``RefineConfig.identity_prior_weight``).

    The frame says ``information @ identity ~= vector`` (information form of a Gaussian on
    the 100 identity coefficients, in the refiner's energy units: mean squared residual over
    the fitting subset, in units of the measured depth noise).

    information: (100, 100) float64 symmetric positive semi-definite; vector: (100,) float64.
    """

    information: np.ndarray
    vector: np.ndarray


@dataclass(frozen=True, eq=False)
class IdentityPrior:
    """A settled identity handed to the refiner.

    mean: (100,) float32 coefficients; information: (100, 100) float64, the strength of the
    pull toward ``mean`` (energy ``(a - mean)^T information (a - mean) / 2``); frozen: hold
    identity at ``mean`` without solving for it.
    """

    mean: np.ndarray
    information: np.ndarray
    frozen: bool = False


@dataclass(frozen=True, eq=False)
class RefineResult:
    """The refined face of one frame.

    rotation: (3, 3) float64 camera from head; translation: (3,) float64 metres (camera
    frame); identity: (100,) float32; expression: (53,) float32 in [0, 1].
    residual_mm: mean absolute point-to-plane residual (mm) over the inlier vertices after
        fitting (robust weight > 0); NaN when nothing could be matched.
    iterations: linear solves performed (rejected Levenberg-Marquardt steps count).
    valid_points: fitting vertices matched to usable depth in the final state.
    inliers: of those, the ones inside the robust loss's support.
    success: False when the depth did not support a fit (no face, too few valid points,
        a residual or pose jump out of bounds); then the pose and coefficients are the
        warm start's, unchanged, and ``reason`` says why.
    identity_observation: this frame's marginal identity evidence, when it was asked for.
    """

    rotation: np.ndarray
    translation: np.ndarray
    identity: np.ndarray
    expression: np.ndarray
    residual_mm: float
    iterations: int
    valid_points: int
    inliers: int = 0
    success: bool = True
    reason: str = ""
    identity_observation: IdentityObservation | None = None
