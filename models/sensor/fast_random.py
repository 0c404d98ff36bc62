"""Cheap standard-normal samples for per-frame sensor noise.

``Generator.standard_normal`` costs about 3 ms for a 640x480 float32 field, a third of the
TrueDepth noise model's budget. Here a sample is instead an inverse-CDF lookup: a uniform
16-bit integer picks one of 65536 equiprobable Gaussian quantiles, ``Phi^-1((k + 0.5) / 65536)``.
The result has the standard normal's quantiles to a resolution of 1/65536 (mean 0, standard
deviation 0.99999) and is truncated at +-4.33 sigma, which is irrelevant for sensor noise.
"""

from __future__ import annotations

import statistics
from functools import lru_cache

import numpy as np

_LEVELS = 1 << 16


@lru_cache(maxsize=1)
def _quantile_table() -> np.ndarray:
    """The (65536,) float32 table of standard-normal quantiles, built once (about 20 ms)."""
    dist = statistics.NormalDist()
    table = np.array([dist.inv_cdf((k + 0.5) / _LEVELS) for k in range(_LEVELS)], dtype=np.float32)
    table.flags.writeable = False
    return table


def fast_standard_normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Approximately standard-normal float32 samples of the given shape, drawn from ``rng``.

    Deterministic given the generator's state; about 4x faster than
    ``rng.standard_normal(shape, dtype=np.float32)``.
    """
    index = rng.integers(0, _LEVELS, size=shape, dtype=np.uint16)
    return _quantile_table()[index]
