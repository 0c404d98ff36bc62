"""The body's up direction and the head, from a person's points seen along the optical axis.

Angles follow :class:`models.crop.FaceCrop`: the up direction of angle ``a`` is
``(sin a, -cos a)`` in the camera's x-y plane (x right, y down), so ``a = 0`` is upright and
``pi / 2`` a head lying toward the image's right. Distances are metric (camera-frame x and y,
metres), so the thresholds hold at any distance.

Up is found, in order of preference:

* ``border``: the body leaves the image through one side (the usual head-and-shoulders view,
  at any roll: a TrueDepth frame of an upright phone shows the body leaving through the left or
  right edge). Up points from where it leaves toward the crown, the person's far end.
* ``body``: shoulders attached to the head are in view but do not reach the image edge
  (a distant person): up points from the shoulders' centroid toward the crown.
* ``axis``: a lone head (a close-up): its major axis, signed by the caller's prior (the tracked
  angle) or upright.

The crown is found by alternating between a direction and the centroid of the points within
``cap_m`` of the top along it, so the direction ends up through the head, not through a
shoulder. The head's own roll (relative to the body) is left to the face fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["HeadRegion", "SilhouetteConfig", "body_up", "head_region", "up_vector"]


@dataclass(frozen=True)
class SilhouetteConfig:
    """Metric sizes of a head on shoulders (metres) and decision thresholds.

    cap_m: the top slab taken as the crown.
    min_border_fraction: the body leaves the image if at least this fraction of the person's
        points lie on one image edge (and at least 4).
    min_body_fraction: shoulders are in view if the person has at least this many points
        outside the nearest surface, relative to it.
    head_length_m: crown to just below the chin, the part kept as the head.
    head_half_width_m: the head's points lie this close to its axis.
    max_points: the direction search uses at most this many points (an even subsample).
    """

    cap_m: float = 0.12
    min_border_fraction: float = 0.004
    min_body_fraction: float = 0.15
    head_length_m: float = 0.24
    head_half_width_m: float = 0.13
    max_points: int = 3000


def up_vector(angle: float) -> np.ndarray:
    """(2,) unit up direction of a crop angle, in the camera's x-y plane."""
    return np.array([math.sin(angle), -math.cos(angle)])


def _top(s: np.ndarray) -> np.ndarray:
    """Robust maximum along axis 0: the 99.5th percentile (one sort-free partition)."""
    n = s.shape[0]
    k = max(0, n - 1 - n // 200)
    return np.partition(s, k, axis=0)[k]


def _angle_of(direction: np.ndarray) -> float:
    return math.atan2(direction[0], -direction[1])


def _toward_crown(xy: np.ndarray, base: np.ndarray, cap_m: float, rounds: int = 3) -> np.ndarray | None:
    """Unit direction from ``base`` to the centroid of the person's top cap (the crown)."""
    direction = xy.mean(axis=0) - base
    for _ in range(rounds):
        norm = float(np.linalg.norm(direction))
        if norm < 1e-6:
            return None
        direction = direction / norm
        s = xy @ direction
        cap = xy[s >= _top(s[:, None])[0] - cap_m]
        direction = cap.mean(axis=0) - base
    norm = float(np.linalg.norm(direction))
    return direction / norm if norm > 1e-6 else None


def body_up(xy: np.ndarray, border: np.ndarray, seed: np.ndarray, prior: float | None = None,
            config: SilhouetteConfig | None = None) -> tuple[float, str]:
    """The person's up angle and how it was found (see the module doc).

    Args:
        xy: (N, 2) camera-frame x, y (metres) of the person's points.
        border: (N, 4) bool: the point lies on the image's top, bottom, left, right edge.
        seed: (N,) bool: the point belongs to the nearest surface (head and neck, usually).
        prior: the expected angle, to sign a lone head's axis (default: upright).

    Returns:
        ``(angle, method)``, method one of ``border``, ``body``, ``axis``.
    """
    config = config or SilhouetteConfig()
    xy = np.asarray(xy, np.float64)
    step = max(1, int(math.ceil(len(xy) / config.max_points)))
    sub, sub_seed = xy[::step], seed[::step]
    counts = border.sum(axis=0)
    side = int(np.argmax(counts))
    if counts[side] >= max(4, config.min_border_fraction * len(xy)):
        direction = _toward_crown(sub, xy[border[:, side]].mean(axis=0), config.cap_m)
        if direction is not None:
            return _angle_of(direction), "border"
    body = ~sub_seed
    if body.sum() >= config.min_body_fraction * max(int(sub_seed.sum()), 1):
        direction = _toward_crown(sub, sub[body].mean(axis=0), config.cap_m)
        if direction is not None:
            return _angle_of(direction), "body"
    head = sub[sub_seed] if sub_seed.any() else sub
    centred = head - head.mean(axis=0)
    _, vectors = np.linalg.eigh(centred.T @ centred)
    angle = _angle_of(vectors[:, 1])
    reference = 0.0 if prior is None else prior
    if abs(math.remainder(angle - reference, 2 * math.pi)) > math.pi / 2:
        angle = math.remainder(angle + math.pi, 2 * math.pi)
    return angle, "axis"


@dataclass(frozen=True, eq=False)
class HeadRegion:
    """The head's points along a given up direction.

    mask: (N,) bool over the input points.
    angle: the up angle used (radians).
    top: the crown's coordinate along up (metres, camera x-y plane).
    axis_offset: the head's lateral coordinate (metres) across up.
    """

    mask: np.ndarray
    angle: float
    top: float
    axis_offset: float

    def point_at(self, below_top_m: float) -> np.ndarray:
        """(2,) camera x, y of the head axis ``below_top_m`` metres under the crown."""
        up = up_vector(self.angle)
        side = np.array([-up[1], up[0]])
        return up * (self.top - below_top_m) + side * self.axis_offset


def head_region(xy: np.ndarray, angle: float, config: SilhouetteConfig | None = None) -> HeadRegion:
    """The points within ``head_length_m`` of the top along ``angle`` and near the head's axis."""
    config = config or SilhouetteConfig()
    up = up_vector(angle)
    side = np.array([-up[1], up[0]])
    s = xy @ up
    lateral = xy @ side
    top = float(_top(s[:, None])[0])
    crown = s >= top - 0.5 * config.head_length_m
    offset = float(np.median(lateral[crown])) if crown.any() else 0.0
    mask = (s >= top - config.head_length_m) & (np.abs(lateral - offset) <= config.head_half_width_m)
    if mask.any():
        offset = float(np.median(lateral[mask]))
    return HeadRegion(mask=mask, angle=float(angle), top=top, axis_offset=offset)
