"""Robust losses on point-to-plane residuals: Tukey's biweight and Huber, with a MAD scale."""

from __future__ import annotations

import numpy as np

MAD_TO_SIGMA = 1.4826


def robust_sigma(residuals: np.ndarray, floor: float) -> float:
    """1.4826 x the median absolute residual, at least ``floor`` (same units)."""
    n = len(residuals)
    if n == 0:
        return floor
    magnitude = np.abs(residuals)
    half = n // 2
    if n % 2:
        median = float(np.partition(magnitude, half)[half])
    else:
        low_high = np.partition(magnitude, (half - 1, half))
        median = 0.5 * float(low_high[half - 1] + low_high[half])
    return max(floor, MAD_TO_SIGMA * median)


def weights(residuals: np.ndarray, scale: float, loss: str) -> np.ndarray:
    """IRLS weights (float32, in [0, 1]) of ``residuals`` for the loss with parameter ``scale``."""
    x = np.abs(residuals) / np.float32(scale)
    if loss == "tukey":
        w = np.clip(1.0 - x * x, 0.0, None)
        return (w * w).astype(np.float32)
    return np.minimum(1.0, 1.0 / np.maximum(x, 1e-12)).astype(np.float32)


def loss_sum(residuals: np.ndarray, scale: float, loss: str) -> float:
    """Sum of the loss over ``residuals`` (units squared), normalised so that rho(r) ~ r^2 / 2
    for small r (Tukey saturates at scale^2 / 6, Huber grows linearly past ``scale``)."""
    r = np.abs(residuals.astype(np.float64))
    if loss == "tukey":
        x = np.minimum(r / scale, 1.0)
        return float(np.sum(scale * scale / 6.0 * (1.0 - (1.0 - x * x) ** 3)))
    quad = r <= scale
    return float(np.sum(0.5 * r[quad] ** 2) + np.sum(scale * (r[~quad] - 0.5 * scale)))


def rejected_loss(scale: float, loss: str, distance: float) -> float:
    """The loss charged for a vertex with no usable match: Tukey's ceiling, or Huber at
    ``distance`` (the rejection distance), so that losing matches never lowers the energy."""
    if loss == "tukey":
        return scale * scale / 6.0
    return scale * (distance - 0.5 * scale)
