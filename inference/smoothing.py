"""Temporal smoothing of pose and coefficients with the One Euro filter.

The One Euro filter (Casiez, Roussel and Vogel, CHI 2012) is a low-pass filter whose cutoff
rises with the signal's speed: still faces stay still (low jitter), fast motion passes with
little lag. Rotations are filtered as unit quaternions kept on one hemisphere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation


@dataclass(frozen=True)
class OneEuroConfig:
    """min_cutoff (Hz): cutoff at rest (lower: smoother, more lag when slow);
    beta (s/unit): how fast the cutoff grows with speed (higher: less lag when fast);
    d_cutoff (Hz): cutoff of the speed estimate."""

    min_cutoff: float = 1.5
    beta: float = 0.3
    d_cutoff: float = 1.0


def _alpha(cutoff_hz: float, dt: float) -> float:
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """One Euro filter of a fixed-size vector signal; the speed is the vector's norm rate."""

    def __init__(self, config: OneEuroConfig):
        self.config = config
        self._value: np.ndarray | None = None
        self._speed: np.ndarray | None = None
        self._time: float | None = None

    def reset(self) -> None:
        self._value = self._speed = self._time = None

    def __call__(self, value: np.ndarray, timestamp: float) -> np.ndarray:
        """The filtered value of ``value`` (any shape) observed at ``timestamp`` seconds."""
        value = np.asarray(value, dtype=np.float64)
        if self._value is None or self._time is None or timestamp <= self._time:
            self._value, self._speed, self._time = value.copy(), np.zeros_like(value), timestamp
            return value.copy()
        dt = timestamp - self._time
        speed = (value - self._value) / dt
        self._speed = self._speed + _alpha(self.config.d_cutoff, dt) * (speed - self._speed)
        cutoff = self.config.min_cutoff + self.config.beta * float(np.linalg.norm(self._speed))
        self._value = self._value + _alpha(cutoff, dt) * (value - self._value)
        self._time = timestamp
        return self._value.copy()


@dataclass(frozen=True)
class SmoothingConfig:
    """Per-signal One Euro settings. Translation speeds are in m/s, rotation in quaternion
    units/s, coefficients in units/s; expression is lighter-handed so blinks survive.

    The betas are high: a still face is smoothed at the minimum cutoffs, a moving one hardly
    at all. Measured on three held-out synthetic takes with refinement (150 frames each,
    ground truth): these settings cost 0.01-0.07 mm of mean error over no smoothing and cut
    the frame-to-frame jitter by a quarter to a third; the earlier betas (10 / 100 / 2) cost
    0.17-0.37 mm in lag.
    """

    enabled: bool = True
    rotation: OneEuroConfig = OneEuroConfig(min_cutoff=3.0, beta=60.0)
    translation: OneEuroConfig = OneEuroConfig(min_cutoff=3.0, beta=600.0)
    expression: OneEuroConfig = OneEuroConfig(min_cutoff=4.0, beta=20.0)
    identity: OneEuroConfig = OneEuroConfig(min_cutoff=0.3, beta=0.0)


class FaceSmoother:
    """Smooths (rotation, translation, identity, expression) over time; reset on track loss."""

    def __init__(self, config: SmoothingConfig = SmoothingConfig()):
        self.config = config
        self._rotation = OneEuroFilter(config.rotation)
        self._translation = OneEuroFilter(config.translation)
        self._identity = OneEuroFilter(config.identity)
        self._expression = OneEuroFilter(config.expression)
        self._last_quaternion: np.ndarray | None = None

    def reset(self) -> None:
        for f in (self._rotation, self._translation, self._identity, self._expression):
            f.reset()
        self._last_quaternion = None

    def __call__(
        self, rotation: np.ndarray, translation: np.ndarray, identity: np.ndarray, expression: np.ndarray,
        timestamp: float,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The smoothed (rotation (3,3), translation (3,), identity, expression in [0, 1])."""
        if not self.config.enabled:
            return rotation, translation, identity, expression
        quaternion = Rotation.from_matrix(rotation).as_quat()
        if self._last_quaternion is not None and np.dot(quaternion, self._last_quaternion) < 0:
            quaternion = -quaternion  # stay on the previous hemisphere: q and -q are one rotation
        self._last_quaternion = quaternion
        smooth_q = self._rotation(quaternion, timestamp)
        smooth_rotation = Rotation.from_quat(smooth_q / np.linalg.norm(smooth_q)).as_matrix()
        return (
            smooth_rotation,
            self._translation(translation, timestamp),
            self._identity(identity, timestamp).astype(np.float32),
            np.clip(self._expression(expression, timestamp), 0.0, 1.0).astype(np.float32),
        )
