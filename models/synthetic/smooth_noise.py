"""Deterministic smooth random signals that can be evaluated at any time."""

from __future__ import annotations

import numpy as np


def channel_rng(seed: int, *key: int) -> np.random.Generator:
    """A generator determined by ``seed`` and an integer key (a channel, a time slot...)."""
    return np.random.default_rng([seed, *key])


class SmoothSignal:
    """A sum of sinusoids with random frequencies and phases, normalised to about [-1, 1].

    Args:
        rng: source of the random frequencies and phases.
        min_hz, max_hz: frequency band of the components.
        components: number of sinusoids.
    """

    def __init__(self, rng: np.random.Generator, min_hz: float, max_hz: float, components: int = 4):
        self.frequencies = rng.uniform(min_hz, max_hz, components)
        self.phases = rng.uniform(0, 2 * np.pi, components)
        weights = rng.uniform(0.5, 1.0, components)
        self.weights = weights / weights.sum()

    def __call__(self, t: float) -> float:
        """The signal at time ``t`` seconds, in [-1, 1]."""
        return float(np.dot(self.weights, np.sin(2 * np.pi * self.frequencies * t + self.phases)))


def pulse(t: float, start: float, attack: float, hold: float, release: float) -> float:
    """A 0..1 envelope: ramps up over ``attack`` s from ``start``, holds, ramps down (smoothstep)."""
    x = t - start
    if x <= 0 or x >= attack + hold + release:
        return 0.0
    if x < attack:
        s = x / attack
    elif x < attack + hold:
        return 1.0
    else:
        s = 1.0 - (x - attack - hold) / release
    return s * s * (3 - 2 * s)
